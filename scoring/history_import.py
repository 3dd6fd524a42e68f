"""Importing a history: past transactions and their labels, decided as the API decides them.

``history_import`` is the bulk path beside ``POST /api/v1/decisions``: each transaction goes
through the same ``decide()`` with the serving feature store, in time order (whatever the
order given), and reads the cold values of its own period through the same
:class:`~scoring.cold_lookup.PointInTimeCold` the API uses. The point-in-time values come from
the imported rows and labels together with what the integrator already has stored, so a
transaction gets the features it would have had if the history had been posted through the API
in time order, each label once its ``reported_at`` had come (``cold_lookup``'s assumption).

All or nothing: every problem (a transaction id given twice or already stored, a label on an
unknown transaction, a label given twice or already recorded) is reported at once, naming
where it is, before anything is decided. The rows are then written in one database
transaction; if that fails, nothing is stored and the feature store forgets what it counted
(the in-process store remembers the undo of its last 10,000 events only: after a failed
import of more, restart it, it is warmed from the database). No case is opened: history is
not an analyst's queue. The ``manage.py import_history`` command reads files into it
(``scoring/history_files.py``); the simulator's loader is a user too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain

from django.conf import settings
from django.db import transaction
from django.db.models import Min

from rules.loader import current_policy
from scoring import serving
from scoring.cold_lookup import HistoryCold, PointInTimeCold
from scoring.decisions import decision_row
from scoring.features.cold import HISTORY_WINDOW, ColdHistory, ColdLabel, ScopedEvent
from scoring.features.event import Event
from scoring.models import Decision, Integrator, Label, LabelEvent, Transaction
from scoring.pipeline import decide
from scoring.replay import cold_rows
from scoring.transaction import DecisionRequest
from scoring.transaction_rows import transaction_row

logger = logging.getLogger(__name__)

BATCH = 2000


@dataclass(frozen=True)
class ImportedTransaction:
    """A validated transaction to import; ``where`` names it in a report ("line 7")."""

    where: str
    request: DecisionRequest


@dataclass(frozen=True)
class ImportedLabel:
    where: str
    transaction_id: str
    label: str
    source: str
    reported_at: datetime


@dataclass(frozen=True)
class RowProblem:
    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}"


class HistoryRefused(Exception):
    """The history was refused: nothing of it was written. ``problems`` says why, each where."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = list(problems)


@dataclass(frozen=True)
class HistoryImported:
    transactions: int
    labels: int
    seconds: float


def history_import(
    *,
    integrator: Integrator,
    transactions: Sequence[ImportedTransaction],
    labels: Sequence[ImportedLabel] = (),
    progress: Callable[[int], None] | None = None,
) -> HistoryImported:
    """Decide and store a history, with its labels, as the API would have on time.

    Raises :class:`HistoryRefused` (nothing written) when a row conflicts with another or with
    what is stored. ``progress`` is called with the number of transactions just decided.
    """
    started = time.perf_counter()
    stored_ids = _refuse_conflicts(integrator, transactions, labels)
    ordered = sorted(transactions, key=lambda t: t.request.facts.occurred_at)
    fingerprints = [t.request.fingerprint() for t in ordered]
    events = [
        t.request.facts.event(t.request.facts.transaction_id, fingerprint)
        for t, fingerprint in zip(ordered, fingerprints, strict=True)
    ]
    scope = str(integrator.pk)
    store = PointInTimeCold(
        serving.feature_store(),
        _cold_source(integrator, events, labels),
        period=settings.COLD_FEATURES_PERIOD_SECONDS,
    )
    observed: list[Event] = []
    try:
        with transaction.atomic():
            rows = _decided(integrator, ordered, fingerprints, store, observed, progress)
            written = _labels_write(integrator, labels, rows, stored_ids)
    except BaseException:
        for event in reversed(observed):
            _forget(store, event, scope)
        raise
    return HistoryImported(len(ordered), written, time.perf_counter() - started)


def _decided(
    integrator: Integrator,
    ordered: Sequence[ImportedTransaction],
    fingerprints: Sequence[str],
    store: PointInTimeCold,
    observed: list[Event],
    progress: Callable[[int], None] | None,
) -> dict[str, Transaction]:
    """Decide each transaction in order and write them in batches; transaction id → row."""
    policy, scorer, scope = current_policy(), serving.scorer(), str(integrator.pk)
    written: dict[str, Transaction] = {}
    for offset in range(0, len(ordered), BATCH):
        batch: list[tuple[Transaction, Decision]] = []
        for i in range(offset, min(offset + BATCH, len(ordered))):
            request, fingerprint = ordered[i].request, fingerprints[i]
            facts = request.facts
            decided_at = time.perf_counter()
            result = decide(
                facts, ref=facts.transaction_id, scope=scope, store=store, policy=policy,
                scorer=scorer, explain_approvals=True, fingerprint=fingerprint,
            )  # fmt: skip
            if result.observed:
                observed.append(facts.event(facts.transaction_id, fingerprint))
            latency_ms = round((time.perf_counter() - decided_at) * 1000, 3)
            txn = transaction_row(integrator, request, fingerprint)
            batch.append((txn, decision_row(txn, result, latency_ms)))
        Transaction.objects.bulk_create([txn for txn, _ in batch])
        for txn, decision in batch:
            decision.transaction = txn  # now saved: its id onto the foreign key
            written[txn.transaction_id] = txn
        Decision.objects.bulk_create([decision for _, decision in batch])
        if progress:
            progress(len(batch))
    return written


def _forget(store: PointInTimeCold, event: Event, scope: str) -> None:
    try:
        store.forget(event, scope=scope)
    except Exception:
        logger.exception("import: the feature store did not forget %s", event.ref)


def _labels_write(
    integrator: Integrator,
    labels: Sequence[ImportedLabel],
    imported: dict[str, Transaction],
    stored_ids: set[str],
) -> int:
    rows = dict(imported)
    if stored_ids:
        stored = Transaction.objects.filter(integrator=integrator, transaction_id__in=stored_ids)
        rows.update((txn.transaction_id, txn) for txn in stored)
    LabelEvent.objects.bulk_create(
        [
            LabelEvent(
                transaction=rows[lb.transaction_id],
                label=lb.label,
                source=lb.source,
                reported_at=lb.reported_at,
            )
            for lb in labels
        ],
        batch_size=BATCH,
    )
    return len(labels)


# --- what the history's cold values are computed from -------------------------------------


def _cold_source(
    integrator: Integrator, events: Sequence[Event], labels: Sequence[ImportedLabel]
) -> HistoryCold:
    """The imported rows and labels, with the integrator's stored rows in the window before
    them (and their labels): what the database would hold for the API at each moment."""
    scope = str(integrator.pk)
    if not events:
        return HistoryCold(ColdHistory(()), {})
    first, last = events[0].ts, events[-1].ts
    txns = Transaction.objects.filter(
        integrator=integrator,
        occurred_at__gte=_moment(first - HISTORY_WINDOW),
        occurred_at__lt=_moment(last),
    )
    stored_labels = LabelEvent.objects.filter(transaction__in=txns, reported_at__lt=_moment(last))
    stored_events, stored_cold_labels = cold_rows(txns, stored_labels)
    history = ColdHistory(
        chain(stored_events, (ScopedEvent(scope, event) for event in events)),
        chain(stored_cold_labels, _cold_labels(scope, labels)),
    )
    earliest = Transaction.objects.filter(integrator=integrator).aggregate(at=Min("occurred_at"))
    first_seen = first if earliest["at"] is None else min(first, earliest["at"].timestamp())
    return HistoryCold(history, {scope: first_seen})


def _cold_labels(scope: str, labels: Sequence[ImportedLabel]) -> Iterator[ColdLabel]:
    for lb in labels:
        yield ColdLabel(
            scope, lb.transaction_id, lb.label == Label.FRAUD, lb.reported_at.timestamp()
        )


def _moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --- conflicts ------------------------------------------------------------------------------


def _refuse_conflicts(
    integrator: Integrator,
    transactions: Sequence[ImportedTransaction],
    labels: Sequence[ImportedLabel],
) -> set[str]:
    """Every conflict of the rows, at once; the ids of the stored transactions labelled."""
    problems: list[RowProblem] = []
    first: dict[str, str] = {}
    for t in transactions:
        txn_id = t.request.facts.transaction_id
        if txn_id in first:
            problems.append(
                RowProblem(t.where, "transaction_id", f"{txn_id!r} is also at {first[txn_id]}.")
            )
        first.setdefault(txn_id, t.where)
    stored = _stored_ids(integrator, set(first))
    problems += [
        RowProblem(
            t.where, "transaction_id", f"{t.request.facts.transaction_id!r} is already stored."
        )
        for t in transactions
        if t.request.facts.transaction_id in stored
    ]
    labelled = _stored_ids(integrator, {lb.transaction_id for lb in labels} - set(first))
    problems += _label_problems(integrator, labels, set(first), labelled)
    if problems:
        raise HistoryRefused(problems)
    return labelled


def _stored_ids(integrator: Integrator, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    found = Transaction.objects.filter(integrator=integrator, transaction_id__in=ids)
    return set(found.values_list("transaction_id", flat=True))


def _label_problems(
    integrator: Integrator,
    labels: Sequence[ImportedLabel],
    imported: set[str],
    stored: set[str],
) -> list[RowProblem]:
    problems = [
        RowProblem(
            lb.where, "transaction_id", f"{lb.transaction_id!r} is neither imported nor stored."
        )
        for lb in labels
        if lb.transaction_id not in imported and lb.transaction_id not in stored
    ]
    seen: dict[tuple[str, str, str, datetime], str] = {}
    for lb in labels:
        key = (lb.transaction_id, lb.label, lb.source, lb.reported_at)
        if key in seen:
            problems.append(
                RowProblem(lb.where, "label", f"the same label is also at {seen[key]}.")
            )
        seen.setdefault(key, lb.where)
    recorded = LabelEvent.objects.filter(
        transaction__integrator=integrator, transaction__transaction_id__in=stored
    ).values_list("transaction__transaction_id", "label", "source", "reported_at")
    already = set(recorded) if stored else set()
    problems += [
        RowProblem(lb.where, "label", "this label is already recorded.")
        for lb in labels
        if (lb.transaction_id, lb.label, lb.source, lb.reported_at) in already
    ]
    return problems
