"""Reads of the scoring app."""

from __future__ import annotations

import uuid

from scoring.models import Decision, Integrator


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
