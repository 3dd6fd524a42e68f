"""What every page's template gets: the drift alert, for the banner in templates/base.html."""

from __future__ import annotations

from django.http import HttpRequest

from scoring.models import DriftReport
from scoring.selectors import drift_report_latest


def drift_alert(request: HttpRequest) -> dict[str, DriftReport | None]:
    """``drift_alert``: the latest drift report if it raised an alert, for signed-in staff
    (the team's pages); None otherwise, and for anonymous visitors (no query then)."""
    if not request.user.is_authenticated:
        return {"drift_alert": None}
    report = drift_report_latest()
    return {"drift_alert": report if report is not None and report.alerts else None}
