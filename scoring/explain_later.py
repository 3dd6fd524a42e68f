"""Approvals explained after the response: on one background thread per process, in batches.

An approval is stored with ``reasons_pending``: its SHAP would cost more than the rest of its
pipeline. After commit, what explaining it needs (its features, facts, model version and the
reasons it was stored with) is queued in memory, so nothing is read back from the database.
The thread takes everything that has queued, explains each, and writes the batch in one
UPDATE and one commit. Under load a batch holds what arrived while the previous one was being
written, so the write's cost per approval falls as traffic rises.

An explanation lost with its process, or dropped because the queue was full, is done later by
the sweeping beat task (``scoring.decisions.decisions_explain_pending``), through the same
:func:`approvals_explain`.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from scoring import serving
from scoring.features.definitions import Features
from scoring.models import Decision
from scoring.pipeline import model_reasons
from scoring.records import ReasonRecord, reason_records
from scoring.scorer import Scorer, ScorerError
from scoring.transaction import TransactionFacts
from scoring.transaction_rows import facts_from_transaction

logger = logging.getLogger(__name__)

# At most this many approvals wait; beyond that one is left for the sweep (a burst must not
# grow an unbounded queue in a worker's memory).
QUEUE_LIMIT = 1000
# At most this many approvals are written in one statement.
BATCH_LIMIT = 200


@dataclass(frozen=True)
class PendingExplanation:
    """A stored approval whose model reasons are still to be added."""

    decision_id: uuid.UUID
    model_version: str | None
    features: Features
    facts: TransactionFacts
    # The reasons it was stored with (lists and rules): the model's are appended.
    reasons: list[ReasonRecord] = field(default_factory=list)

    @classmethod
    def of_stored(cls, decision: Decision) -> PendingExplanation:
        """What a stored decision (its transaction loaded) needs explaining, read back."""
        return cls(
            decision_id=decision.pk,
            model_version=decision.model_version,
            features=decision.features,
            facts=facts_from_transaction(decision.transaction),
            reasons=decision.reasons,
        )


def approvals_explain(pending: Sequence[PendingExplanation]) -> int:
    """Add the model's reasons to these stored approvals, in one statement sent once and one
    commit; returns how many it explained (one already explained, by the sweep or a retry, is
    left as it is)."""
    if not pending:
        return 0
    scorers: dict[str | None, Scorer] = {}
    reasons_field, id_field = Decision._meta.get_field("reasons"), Decision._meta.pk
    assert id_field is not None
    rows = []
    for item in pending:
        if item.model_version not in scorers:
            scorers[item.model_version] = serving.scorer_for(item.model_version)
        reasons = [*item.reasons, *_model_records(scorers[item.model_version], item)]
        rows.append(
            (
                id_field.get_db_prep_value(item.decision_id, connection),
                reasons_field.get_db_prep_value(reasons, connection),
            )
        )
    # Plain SQL: Django's bulk_update builds a CASE expression per row, which cost more CPU
    # than explaining them.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_explained_postgresql(len(rows)), [v for row in rows for v in row])
        else:
            cursor.executemany(_EXPLAINED, [(reasons, False, pk) for pk, reasons in rows])
        return max(int(cursor.rowcount), 0)


_EXPLAINED = (
    "UPDATE scoring_decision SET reasons = %s, reasons_pending = %s"
    " WHERE id = %s AND reasons_pending"
)


def _explained_postgresql(count: int) -> str:
    """One statement for ``count`` rows: (id, reasons) pairs as parameters."""
    values = ", ".join(["(CAST(%s AS uuid), CAST(%s AS jsonb))"] * count)
    return (
        "UPDATE scoring_decision AS d SET reasons = v.column2, reasons_pending = false"  # noqa: S608
        f" FROM (VALUES {values}) AS v WHERE d.id = v.column1 AND d.reasons_pending"
    )


def _model_records(scorer: Scorer, item: PendingExplanation) -> list[ReasonRecord]:
    try:
        return reason_records(model_reasons(scorer, item.features, item.facts))
    except ScorerError:
        logger.exception(
            "decision %s: model %s cannot explain", item.decision_id, item.model_version
        )
        return []


def explain_later(item: PendingExplanation) -> None:
    """Queue an approval for this process's explaining thread (or explain it now, when
    ``EXPLAIN_APPROVALS_IN_BACKGROUND`` is off)."""
    if not settings.EXPLAIN_APPROVALS_IN_BACKGROUND:
        approvals_explain([item])
        return
    try:
        _worker().put_nowait(item)
    except queue.Full:
        logger.warning("explanation queue full: %s is left for the sweep", item.decision_id)


class _Worker:
    """The queue and the thread of one process (a forked worker starts its own)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.Queue[PendingExplanation] = queue.Queue(maxsize=QUEUE_LIMIT)
        self.thread = threading.Thread(target=self.run, name="explain-later", daemon=True)
        self.thread.start()

    def run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < BATCH_LIMIT:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                approvals_explain(batch)
            except Exception:
                logger.exception("%d approvals not explained: left for the sweep", len(batch))
            finally:
                # Back to the pool between batches: an idle thread holds no connection.
                connection.close()


_current: _Worker | None = None
_lock = threading.Lock()


def _worker() -> queue.Queue[PendingExplanation]:
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Worker()
        return _current.queue
