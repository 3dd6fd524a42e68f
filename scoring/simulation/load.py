"""Loading a simulated history: transactions, their decisions and their delayed labels.

Each transaction is validated like an API request and imported by the bulk path
(:func:`scoring.history_import.history_import`): decided by the same ``decide()`` (rules and
lists; no model yet) through the serving feature store, so history and live traffic share one
state, and given the cold values of its own period, as ``manage.py import_history`` gives them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scoring.history_import import ImportedLabel, ImportedTransaction, history_import
from scoring.models import Integrator
from scoring.serializers import TransactionInSerializer
from scoring.simulation.history import HistoricalTransaction
from scoring.transaction import decision_request_from


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

    imported = history_import(
        integrator=integrator,
        transactions=[_validated(simulated) for simulated in history],
        labels=[
            ImportedLabel(
                where=t.payload["transaction_id"],
                transaction_id=t.payload["transaction_id"],
                label=t.label.label,
                source=t.label.source,
                reported_at=t.label.reported_at,
            )
            for t in history
            if t.label is not None
        ],
        progress=advanced,
    )
    return HistoryLoaded(imported.transactions, imported.labels, imported.seconds)


def _validated(simulated: HistoricalTransaction) -> ImportedTransaction:
    serializer = TransactionInSerializer(data=simulated.payload)
    if not serializer.is_valid():
        raise HistoryInvalid(f"{simulated.payload['transaction_id']}: {serializer.errors}")
    where = str(simulated.payload["transaction_id"])
    return ImportedTransaction(where, decision_request_from(serializer.validated_data))
