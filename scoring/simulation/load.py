"""Loading a simulated history: transactions, their decisions and their delayed labels.

Each transaction is validated like an API request and decided by the same ``decide()`` (rules
and lists; no model yet), through the serving feature store, so history and live traffic share
one state. Rows are written in batches, each batch in one database transaction.

Labels are the simulator's chargebacks (frauds only) and analysts' verdicts on a share of the
cases the rules sent to review (:func:`analyst_verdicts`), known before the cold features are
computed, so every decision's cold values count exactly the labels a replay counts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from rules.loader import current_policy
from rules.policy import Outcome, Policy
from scoring import serving
from scoring.decisions import decision_row
from scoring.features.cold import ColdHistory, ColdLabel, ScopedEvent, as_of_for
from scoring.features.event import Event
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.store import ColdOverlay
from scoring.models import Decision, Integrator, LabelEvent, Transaction
from scoring.pipeline import decide
from scoring.scorer import NoModelScorer
from scoring.serializers import TransactionInSerializer
from scoring.simulation.history import HistoricalTransaction, Label
from scoring.transaction import DecisionRequest, decision_request_from
from scoring.transaction_rows import transaction_row

BATCH = 2000
# Analysts give a verdict on this share of the cases the rules sent to review, within
# VERDICT_WITHIN of the payment; one not given by the end of the history is not there.
VERDICT_SHARE = 0.7
VERDICT_WITHIN = timedelta(hours=48)


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
    period = settings.COLD_FEATURES_PERIOD_SECONDS
    labels_of = [[] if t.label is None else [t.label] for t in history]
    for i, verdict in analyst_verdicts(scope, history, requests, events, policy):
        labels_of[i].append(verdict)
    store = ColdOverlay(serving.feature_store(), _cold_history(scope, labels_of, events))
    labels = 0
    for offset in range(0, len(history), BATCH):
        rows: list[tuple[Transaction, Decision, list[Label]]] = []
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
            rows.append((txn, decision_row(txn, result, latency_ms), labels_of[i]))
        labels += _write(rows)
        if progress:
            progress(min(offset + BATCH, len(history)), len(history))
    return HistoryLoaded(len(history), labels, time.perf_counter() - started)


def analyst_verdicts(
    scope: str,
    history: Sequence[HistoricalTransaction],
    requests: Sequence[DecisionRequest],
    events: Sequence[Event],
    policy: Policy,
) -> list[tuple[int, Label]]:
    """(index, verdict) for a share of the transactions the rules send to review: the truth, as
    an analyst finds it, reported within VERDICT_WITHIN (by the end of the history).

    Which ones the rules review is decided beforehand, on this history alone (a fresh store,
    its chargebacks), so the verdicts are known before the cold features that count them.
    """
    if not history:
        return []
    end = history[-1].occurred_at
    chargebacks = [[] if t.label is None else [t.label] for t in history]
    store = ColdOverlay(MemoryFeatureStore(), _cold_history(scope, chargebacks, events))
    period, scorer = settings.COLD_FEATURES_PERIOD_SECONDS, NoModelScorer()
    verdicts: list[tuple[int, Label]] = []
    for i, (simulated, request) in enumerate(zip(history, requests, strict=True)):
        store.at(as_of_for(events[i].ts, period))
        ref = request.facts.transaction_id
        result = decide(
            request.facts, ref=ref, scope=scope, store=store, policy=policy, scorer=scorer
        )
        draw = random.Random(f"verdict:{ref}")  # the same verdicts for the same history
        if result.rules_outcome != Outcome.REVIEW or draw.random() >= VERDICT_SHARE:
            continue
        reported_at = simulated.occurred_at + draw.uniform(0.05, 1.0) * VERDICT_WITHIN
        if reported_at <= end:
            label = "fraud" if simulated.is_fraud else "legit"
            verdicts.append((i, Label(label, "analyst", reported_at)))
    return verdicts


def _cold_history(
    scope: str, labels_of: Sequence[Sequence[Label]], events: Sequence[Event]
) -> ColdHistory:
    return ColdHistory(
        (ScopedEvent(scope, event) for event in events),
        (
            ColdLabel(scope, event.ref, label.label == "fraud", label.reported_at.timestamp())
            for labels, event in zip(labels_of, events, strict=True)
            for label in labels
        ),
    )


def _validated(simulated: HistoricalTransaction) -> DecisionRequest:
    serializer = TransactionInSerializer(data=simulated.payload)
    if not serializer.is_valid():
        raise HistoryInvalid(f"{simulated.payload['transaction_id']}: {serializer.errors}")
    return decision_request_from(serializer.validated_data)


@transaction.atomic
def _write(rows: list[tuple[Transaction, Decision, list[Label]]]) -> int:
    Transaction.objects.bulk_create([txn for txn, _, _ in rows])
    for txn, decision, _ in rows:
        decision.transaction = txn
    Decision.objects.bulk_create([decision for _, decision, _ in rows])
    labels = [
        LabelEvent(
            transaction=txn, label=label.label, source=label.source, reported_at=label.reported_at
        )
        for txn, _, simulated in rows
        for label in simulated
    ]
    LabelEvent.objects.bulk_create(labels)
    return len(labels)
