"""Loading a simulated history: transactions, their decisions and their delayed labels.

Each transaction is validated like an API request and decided by the same ``decide()`` (rules
and lists; no model yet), through the serving feature store, so history and live traffic share
one state. Rows are written in batches, each batch in one database transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from rules.loader import current_policy
from scoring import serving
from scoring.decisions import decision_row
from scoring.features.cold import ColdHistory, ColdLabel, ScopedEvent, as_of_for
from scoring.features.event import Event
from scoring.features.store import ColdOverlay
from scoring.models import Decision, Integrator, LabelEvent, Transaction
from scoring.pipeline import decide
from scoring.serializers import TransactionInSerializer
from scoring.simulation.history import HistoricalTransaction
from scoring.transaction import DecisionRequest, decision_request_from
from scoring.transaction_rows import transaction_row

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
    """Decide and store a simulated history, as if it had come through the API on time.

    Its cold features are the generations a beat running on time would have published: as of
    the start of each transaction's period, from the history before it and the labels reported
    before it.
    """
    started = time.perf_counter()
    policy, scorer = current_policy(), serving.scorer()
    scope = str(integrator.pk)
    requests = [_validated(simulated) for simulated in history]
    events = [request.facts.event(request.facts.transaction_id) for request in requests]
    store = ColdOverlay(serving.feature_store(), _cold_history(scope, history, events))
    period = settings.COLD_FEATURES_PERIOD_SECONDS
    labels = 0
    for offset in range(0, len(history), BATCH):
        rows: list[tuple[Transaction, Decision, HistoricalTransaction]] = []
        for i in range(offset, min(offset + BATCH, len(history))):
            request = requests[i]
            store.at(as_of_for(events[i].ts, period))
            decided_at = time.perf_counter()
            result = decide(
                request.facts,
                ref=request.facts.transaction_id,
                scope=scope,
                store=store,
                policy=policy,
                scorer=scorer,
                explain_approvals=True,
            )
            latency_ms = round((time.perf_counter() - decided_at) * 1000, 3)
            txn = transaction_row(integrator, request, request.fingerprint())
            rows.append((txn, decision_row(txn, result, latency_ms), history[i]))
        labels += _write(rows)
        if progress:
            progress(min(offset + BATCH, len(history)), len(history))
    return HistoryLoaded(len(history), labels, time.perf_counter() - started)


def _cold_history(
    scope: str, history: Sequence[HistoricalTransaction], events: Sequence[Event]
) -> ColdHistory:
    return ColdHistory(
        (ScopedEvent(scope, event) for event in events),
        (
            ColdLabel(scope, event.ref, t.label.label == "fraud", t.label.reported_at.timestamp())
            for t, event in zip(history, events, strict=True)
            if t.label is not None
        ),
    )


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
