"""What every page's template gets: the drift alert, for the banner in templates/base.html."""

from __future__ import annotations

from django.http import HttpRequest

from scoring.models import DriftReport, ModelStatus, ModelVersion
from scoring.selectors import drift_report_latest


def drift_alert(request: HttpRequest) -> dict[str, DriftReport | None]:
    """``drift_alert``: the latest drift report if it raised an alert, for signed-in staff
    (the team's pages); None otherwise, and for anonymous visitors (no query then). A report
    against a model that is no longer the champion is None too: the model it flagged was
    replaced (by a retrain on the shifted data), so the banner would be stale."""
    # DRF's schema and docs views render templates with a request whose user may be None.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"drift_alert": None}
    report = drift_report_latest()
    if report is None or not report.alerts:
        return {"drift_alert": None}
    return {"drift_alert": None if _replaced(report.model_version) else report}


def _replaced(checked: str | None) -> bool:
    """Whether a champion other than the ``checked`` model decides now."""
    if not checked:
        return False
    champion = ModelVersion.objects.filter(status=ModelStatus.CHAMPION).order_by("-pk").first()
    return champion is not None and champion.name != checked
