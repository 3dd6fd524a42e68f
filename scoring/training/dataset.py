"""The training dataset: every transaction whose label is known, as the decisions logged it.

Each row's features are the ones its live decision stored (point-in-time by construction), read
as columns into float32 arrays; only decisions stored with an older feature-set version are
decided again through ``decide()`` (``replay.features_recomputed``). The rules' verdict is the
one stored with each decision (``Decision.rules_outcome``). Labels are
``label_reads.label_columns`` as of the training moment, and the rows are the transactions past
their maturity (see ``_labelled``). ``train.py`` fits, calibrates and registers a model on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from rules.loader import current_policy
from rules.policy import Outcome
from scoring.features.definitions import FEATURE_NAMES, FEATURE_SET_VERSION
from scoring.label_reads import UNKNOWN, LabelColumns, LabelCoverage, label_columns
from scoring.models import Decision
from scoring.replay import features_recomputed

Progress = Callable[[str], None]


class NotEnoughLabels(Exception):
    """Too few labelled transactions, or no fraud among them, to train on."""


@dataclass
class Dataset:
    features: tuple[str, ...]
    x: np.ndarray  # float32, NaN: missing
    y: np.ndarray  # int8, 1: fraud
    rules_flagged: np.ndarray  # rules and lists said review or decline
    rules_declined: np.ndarray  # ... said decline (a hard decision, not a review)
    occurred_ts: np.ndarray  # float64 seconds since the epoch, in time order
    transaction_pks: np.ndarray  # int64
    coverage: LabelCoverage | None = field(default=None, compare=False)
    replayed: int = 0  # rows whose features were recomputed (an older feature-set version)

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, start: int, stop: int) -> Dataset:
        return Dataset(
            self.features,
            self.x[start:stop],
            self.y[start:stop],
            self.rules_flagged[start:stop],
            self.rules_declined[start:stop],
            self.occurred_ts[start:stop],
            self.transaction_pks[start:stop],
        )

    def occurred_at(self, row: int) -> datetime:
        return datetime.fromtimestamp(float(self.occurred_ts[row]), UTC)


# Rows read per round trip, and a progress line every this many rows.
CHUNK = 20_000
PROGRESS_EVERY = 200_000


@dataclass
class _Columns:
    """Every decision of the period, as columns (before labels pick the rows)."""

    x: np.ndarray
    pks: np.ndarray
    occurred_ts: np.ndarray
    integrator_ids: np.ndarray
    versions: np.ndarray
    rules_outcome: np.ndarray  # "U7" strings

    @classmethod
    def empty(cls, n: int) -> _Columns:
        return cls(
            np.empty((n, len(FEATURE_NAMES)), dtype=np.float32),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.float64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int16),
            np.empty(n, dtype="U7"),
        )


def _logged(moment: datetime, since: datetime | None = None) -> QuerySet[Decision]:
    decisions = Decision.objects.filter(transaction__occurred_at__lte=moment)
    if since is not None:  # a rolling window (scoring/retraining.py)
        decisions = decisions.filter(transaction__occurred_at__gte=since)
    return decisions.order_by("transaction__occurred_at", "transaction_id")


def _read(decisions: QuerySet[Decision], n: int, progress: Progress | None) -> _Columns:
    """The stored features and verdicts, ``n`` rows, chunk by chunk into preallocated arrays
    (the database extracts each feature from the JSON; no model instances, no dicts)."""
    columns = _Columns.empty(n)
    done = 0
    for chunk in _chunks(decisions):
        stop = min(n, done + len(chunk))
        chunk = chunk[: stop - done]
        columns.pks[done:stop] = [row[0] for row in chunk]
        columns.occurred_ts[done:stop] = [row[1].timestamp() for row in chunk]
        columns.integrator_ids[done:stop] = [row[2] for row in chunk]
        columns.versions[done:stop] = [row[3] for row in chunk]
        columns.rules_outcome[done:stop] = [row[4] for row in chunk]
        # None (a missing value) becomes NaN in a float array
        columns.x[done:stop] = np.array([row[_META:] for row in chunk], dtype=np.float32)
        if progress and stop // PROGRESS_EVERY > done // PROGRESS_EVERY:
            progress(f"  read {stop} logged decisions")
        done = stop
        if done == n:
            break
    if done < n:  # rows deleted while reading: keep what was read
        return _Columns(
            columns.x[:done], columns.pks[:done], columns.occurred_ts[:done],
            columns.integrator_ids[:done], columns.versions[:done], columns.rules_outcome[:done],
        )  # fmt: skip
    return columns


def _chunks(decisions: QuerySet[Decision]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of (transaction pk, occurred_at, integrator pk, feature-set version, rules'
    outcome, *FEATURE_NAMES), CHUNK at a time, in ``decisions``' order.

    On PostgreSQL the JSON is unpacked once per row (``jsonb_to_record``) and the rows are
    fetched from a server-side cursor; elsewhere (SQLite, the embedded default) each row's JSON
    is read whole and unpacked here: SQLite's extraction casts a JSON null to 0.0, not NULL.
    """
    if connection.vendor == "postgresql":
        sql, params = _postgresql_query(decisions)
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(CHUNK):
                yield rows
        return
    rows = decisions.values_list(*_META_FIELDS, "features").iterator(chunk_size=CHUNK)
    while chunk := list(itertools.islice(rows, CHUNK)):
        yield [(*row[:_META], *map(row[_META].get, FEATURE_NAMES)) for row in chunk]


_META_FIELDS = (
    "transaction_id", "transaction__occurred_at", "transaction__integrator_id",
    "feature_set_version", "rules_outcome",
)  # fmt: skip
_META = len(_META_FIELDS)  # the columns before the features in a row


def _postgresql_query(decisions: QuerySet[Decision]) -> tuple[str, tuple[Any, ...]]:
    """``decisions``' own query (its filter and order), with the features from one
    ``jsonb_to_record`` per row in place of one extraction per feature."""
    sql, params = decisions.values_list(*_META_FIELDS).query.sql_with_params()
    table = connection.ops.quote_name(Decision._meta.db_table)
    record = ", ".join(f"{connection.ops.quote_name(name)} float8" for name in FEATURE_NAMES)
    features = ", ".join(f"r.{connection.ops.quote_name(name)}" for name in FEATURE_NAMES)
    # The ORM's SELECT of the meta columns, then the record's columns; FROM … its own.
    select, rest = sql.split(" FROM ", 1)
    lateral = f" CROSS JOIN LATERAL jsonb_to_record({table}.features) AS r({record})"
    joins, _, tail = rest.partition(" WHERE ")
    return f"{select}, {features} FROM {joins}{lateral} WHERE {tail}", tuple(params)


def _recompute_stale(columns: _Columns, older_than: int, progress: Progress | None) -> int:
    stale = np.flatnonzero(columns.versions < older_than)
    if not len(stale):
        return 0
    if progress:
        progress(f"  {len(stale)} decisions have older features: deciding them again")
    row_of = dict(zip(columns.pks[stale].tolist(), stale.tolist(), strict=True))
    for pk, features in features_recomputed(row_of.keys(), policy=current_policy()):
        columns.x[row_of[pk]] = [np.nan if (v := features[n]) is None else v for n in FEATURE_NAMES]
    return len(stale)


def dataset_build(
    *,
    moment: datetime,
    replay_older_than: int = FEATURE_SET_VERSION,
    progress: Progress | None = None,
    since: datetime | None = None,
) -> Dataset:
    """Every decision of a transaction past its label maturity at ``moment`` (and occurred
    since ``since``, if given), labelled as of ``moment``, with the features it logged; those
    logged with a feature-set version older than ``replay_older_than`` are recomputed through
    ``decide()``."""
    decisions = _logged(moment, since)
    columns = _read(decisions, decisions.count(), progress)
    replayed = _recompute_stale(columns, replay_older_than, progress)
    labels = label_columns(
        pks=columns.pks,
        occurred_ts=columns.occurred_ts,
        integrator_ids=columns.integrator_ids,
        moment=moment,
    )
    return _labelled(columns, labels, replayed)


def _labelled(columns: _Columns, labels: LabelColumns, replayed: int) -> Dataset:
    # Only transactions past their maturity: of a younger one only a fraud (an early
    # chargeback, a verdict) can be known, so keeping those would fill the latest weeks, and
    # the validation window, with fraud. A mature row's label is always known.
    known = labels.mature & (labels.y != UNKNOWN)
    outcome = columns.rules_outcome[known]
    return Dataset(
        FEATURE_NAMES,
        columns.x[known],
        labels.y[known],
        outcome != Outcome.APPROVE.value,
        outcome == Outcome.DECLINE.value,
        columns.occurred_ts[known],
        columns.pks[known],
        coverage=LabelCoverage.of(labels, known),
        replayed=replayed,
    )


def split_by_time(data: Dataset) -> tuple[Dataset, Dataset, Dataset]:
    n = len(data)
    a, b = int(n * 0.70), int(n * 0.85)
    return data.rows(0, a), data.rows(a, b), data.rows(b, n)
