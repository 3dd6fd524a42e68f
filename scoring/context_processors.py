"""What every page's template gets: the drift alert, for the banner in templates/base.html."""

from __future__ import annotations

from django.http import HttpRequest

from scoring.models import DriftReport
from scoring.selectors import drift_alert_standing, drift_report_latest


def drift_alert(request: HttpRequest) -> dict[str, DriftReport | None]:
    """``drift_alert``: the latest drift report if it raised an alert, for signed-in staff
    (the team's pages) while it stands (``selectors.drift_alert_standing``: not once the model
    it flagged was replaced); None otherwise, and for anonymous visitors (no query then)."""
    # DRF's schema and docs views render templates with a request whose user may be None.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"drift_alert": None}
    report = drift_report_latest()
    return {"drift_alert": report if drift_alert_standing(report) else None}
