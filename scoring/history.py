"""Loading a simulated history: transactions, their decisions and their delayed labels.

Each transaction is validated like an API request and decided by the same ``decide()`` (rules
and lists; no model yet), through the serving feature store, so history and live traffic share
one state. Rows are written in batches, each batch in one database transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction

from rules.loader import current_policy
from scoring import runtime
from scoring.models import Decision, Integrator, LabelEvent, Transaction
from scoring.pipeline import decide
from scoring.serializers import TransactionInSerializer
from scoring.services import (
    DecisionRequest,
    decision_request_from,
    decision_row,
    transaction_row,
)
from scoring.simulation_history import HistoricalTransaction

BATCH = 2000


@dataclass(frozen=True)
class HistoryLoaded:
    transactions: int
    labels: int
    seconds: float


class HistoryInvalid(Exception):
    """A simulated transaction did not pass the API's validation (a simulator bug)."""


def history_load(
    *,
    integrator: Integrator,
    history: Sequence[HistoricalTransaction],
    progress: Callable[[int, int], None] | None = None,
) -> HistoryLoaded:
    started = time.perf_counter()
    policy, store, scorer = current_policy(), runtime.feature_store(), runtime.scorer()
    labels = 0
    for offset in range(0, len(history), BATCH):
        batch = history[offset : offset + BATCH]
        rows: list[tuple[Transaction, Decision, HistoricalTransaction]] = []
        for simulated in batch:
            request = _validated(simulated)
            decided_at = time.perf_counter()
            result = decide(
                request.facts,
                ref=request.facts.transaction_id,
                scope=str(integrator.pk),
                store=store,
                policy=policy,
                scorer=scorer,
            )
            latency_ms = round((time.perf_counter() - decided_at) * 1000, 3)
            txn = transaction_row(integrator, request, request.fingerprint())
            rows.append((txn, decision_row(txn, result, latency_ms), simulated))
        labels += _write(rows)
        if progress:
            progress(min(offset + BATCH, len(history)), len(history))
    return HistoryLoaded(len(history), labels, time.perf_counter() - started)


def _validated(simulated: HistoricalTransaction) -> DecisionRequest:
    serializer = TransactionInSerializer(data=simulated.payload)
    if not serializer.is_valid():
        raise HistoryInvalid(f"{simulated.payload['transaction_id']}: {serializer.errors}")
    return decision_request_from(serializer.validated_data)


@transaction.atomic
def _write(rows: list[tuple[Transaction, Decision, HistoricalTransaction]]) -> int:
    Transaction.objects.bulk_create([txn for txn, _, _ in rows])
    for txn, decision, _ in rows:
        decision.transaction = txn
    Decision.objects.bulk_create([decision for _, decision, _ in rows])
    labels = [
        LabelEvent(
            transaction=txn,
            label=simulated.label.label,
            source=simulated.label.source,
            reported_at=simulated.label.reported_at,
        )
        for txn, _, simulated in rows
        if simulated.label is not None
    ]
    LabelEvent.objects.bulk_create(labels)
    return len(labels)
