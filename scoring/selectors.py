"""Reads of the scoring app."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Count

from scoring.models import Decision, DriftReport, Integrator, ModelVersion


def decision_for_transaction(*, integrator: Integrator, transaction_id: str) -> Decision | None:
    return (
        Decision.objects.select_related("transaction")
        .filter(transaction__integrator=integrator, transaction__transaction_id=transaction_id)
        .first()
    )


def decision_get(*, integrator: Integrator, decision_id: uuid.UUID) -> Decision | None:
    return (
        Decision.objects.select_related("transaction")
        .filter(pk=decision_id, transaction__integrator=integrator)
        .first()
    )


def decisions_recent(*, limit: int = 50) -> list[Decision]:
    """The latest decisions, newest first, with their transactions."""
    return list(Decision.objects.select_related("transaction").order_by("-created_at")[:limit])


def outcome_counts_since(*, since: datetime) -> dict[str, int]:
    rows = (
        Decision.objects.filter(created_at__gte=since)
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    return dict(rows)


def drift_report_latest() -> DriftReport | None:
    """The newest drift check's report (its ``alerts`` say what it flagged)."""
    return DriftReport.objects.order_by("-created_at", "-pk").first()


def drift_alert_standing(report: DriftReport | None) -> bool:
    """Whether ``report`` flags drift that still stands: it raised an alert, and the model it
    checked still decides. Once another champion replaced that model (a retrain on the
    shifted data), the alert is over until a check of the new champion raises one. The one
    rule for the page banner and the exported ``fraudops_drift_alert``."""
    if report is None or not report.alerts:
        return False
    if not report.model_version:
        return True
    champion = ModelVersion.objects.champion()
    return champion is None or champion.name == report.model_version
