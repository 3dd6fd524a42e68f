"""Loading a simulated history: transactions, their decisions and their delayed labels.

Each transaction is validated like an API request and imported by the bulk path
(:func:`scoring.history_import.history_import`): decided by the same ``decide()`` (rules and
lists; no model yet) through the serving feature store, so history and live traffic share one
state, and given the cold values of its own period, as ``manage.py import_history`` gives them.

Labels are the simulator's chargebacks (frauds only) and analysts' verdicts on a share of the
cases the rules sent to review (:func:`analyst_verdicts`); both are imported with the history,
so the cold values count each from its ``reported_at``, as a replay does.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from rules.loader import current_policy
from rules.policy import Outcome
from scoring.features.memory_store import MemoryFeatureStore
from scoring.history_import import ImportedLabel, ImportedTransaction, history_import
from scoring.models import Integrator
from scoring.pipeline import decide
from scoring.scorer import NoModelScorer
from scoring.serializers import TransactionInSerializer
from scoring.simulation.history import HistoricalTransaction, Label
from scoring.transaction import decision_request_from

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
    """Decide and store a simulated history, as if it had come through the API on time."""
    done = 0

    def advanced(decided: int) -> None:
        nonlocal done
        done += decided
        if progress:
            progress(done, len(history))

    transactions = [_validated(simulated) for simulated in history]
    labels = [(t, t.label) for t in history if t.label is not None]
    labels += analyst_verdicts(history, transactions)
    imported = history_import(
        integrator=integrator,
        transactions=transactions,
        labels=[
            ImportedLabel(
                where=t.payload["transaction_id"],
                transaction_id=t.payload["transaction_id"],
                label=label.label,
                source=label.source,
                reported_at=label.reported_at,
            )
            for t, label in labels
        ],
        progress=advanced,
    )
    return HistoryLoaded(imported.transactions, imported.labels, imported.seconds)


def analyst_verdicts(
    history: Sequence[HistoricalTransaction], transactions: Sequence[ImportedTransaction]
) -> list[tuple[HistoricalTransaction, Label]]:
    """A verdict (the truth, as an analyst finds it) on a share of the transactions the rules
    send to review, reported within VERDICT_WITHIN, if by the end of the history.

    Which ones the rules review is judged beforehand on the history's own hot features (a
    fresh in-process store, no cold values): the verdicts are then imported with the history,
    and its cold values count them from when they were reported.
    """
    if not history:
        return []
    end = max(t.occurred_at for t in history)
    policy, scorer, store = current_policy(), NoModelScorer(), MemoryFeatureStore()
    verdicts: list[tuple[HistoricalTransaction, Label]] = []
    pairs = sorted(zip(history, transactions, strict=True), key=lambda p: p[0].occurred_at)
    for simulated, imported in pairs:
        facts = imported.request.facts
        ref = facts.transaction_id
        result = decide(facts, ref=ref, scope="verdicts", store=store, policy=policy, scorer=scorer)
        draw = random.Random(f"verdict:{ref}")  # the same verdicts for the same history
        if result.rules_outcome != Outcome.REVIEW or draw.random() >= VERDICT_SHARE:
            continue
        reported_at = simulated.occurred_at + draw.uniform(0.05, 1.0) * VERDICT_WITHIN
        if reported_at <= end:
            label = "fraud" if simulated.is_fraud else "legit"
            verdicts.append((simulated, Label(label, "analyst", reported_at)))
    return verdicts


def _validated(simulated: HistoricalTransaction) -> ImportedTransaction:
    serializer = TransactionInSerializer(data=simulated.payload)
    if not serializer.is_valid():
        raise HistoryInvalid(f"{simulated.payload['transaction_id']}: {serializer.errors}")
    where = str(simulated.payload["transaction_id"])
    return ImportedTransaction(where, decision_request_from(serializer.validated_data))
