"""Labels as of a moment: the one definition of what a transaction turned out to be, read by
training, backtests, KPIs and model comparisons (``scoring/labels.py`` writes them).

A transaction's label as of ``moment`` (:func:`label_as_of`):

1. Its explicit labels known by then (``reported_at <= moment``), by precedence: a chargeback
   outranks an analyst's verdict, which outranks an integrator's report; within a rank the
   latest report wins (at the same instant, fraud).
2. Else, once its maturity has passed since it occurred (``LABEL_MATURITY_DAYS``, or the
   integrator's own ``label_maturity_days``), legit: issuers report the frauds they hear of
   (chargebacks) and never confirm the rest, so a payment still unreported after the
   chargeback window is taken as legitimate, as the field does.
3. Else unknown (None): too recent to tell, and left out of training.

The pure rule (:func:`label_as_of`, :func:`explicit_label`, :func:`matured`) needs no database;
the reads apply it to one transaction, to a queryset (:func:`labels_as_of`; or its halves,
:func:`label_facts` and :func:`labels_of_rows`, for a caller that reads the rows itself) or,
for training, to columns of a million rows at once (:func:`label_columns`) without a query
per transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, overload

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from scoring.models import Integrator, Label, LabelEvent, LabelSource, Transaction

# Higher wins. An issuer's chargeback is money actually returned; an analyst looked at the
# case; an integrator's report is the least checked.
PRECEDENCE: Mapping[str, int] = {
    LabelSource.CHARGEBACK: 3,
    LabelSource.ANALYST: 2,
    LabelSource.INTEGRATOR: 1,
}

# label_columns' codes: y is one of these per row.
UNKNOWN, LEGIT, FRAUD = -1, 0, 1


@dataclass(frozen=True)
class LabelFact:
    """One stored label event, as the rule reads it."""

    label: str
    source: str
    reported_at: datetime


@dataclass(frozen=True)
class LabelledTransaction:
    """What the rule needs of a transaction: when it occurred, its maturity, its labels."""

    occurred_at: datetime
    maturity: timedelta
    facts: tuple[LabelFact, ...] = ()


def _rank(fact: LabelFact) -> tuple[int, datetime, bool]:
    return (PRECEDENCE.get(fact.source, 0), fact.reported_at, fact.label == Label.FRAUD)


def explicit_label(facts: Iterable[LabelFact], moment: datetime) -> LabelFact | None:
    """The label event that decides, among those reported by ``moment`` (None: none was)."""
    return max((f for f in facts if f.reported_at <= moment), key=_rank, default=None)


@overload
def matured(age: timedelta, maturity: timedelta) -> bool: ...
@overload
def matured(age: np.ndarray, maturity: np.ndarray) -> np.ndarray: ...
def matured(age: Any, maturity: Any) -> Any:
    """Whether a transaction of this age (moment − occurred_at) is past its maturity; also
    element-wise on arrays of seconds (training's columns)."""
    return age >= maturity


def label_as_of(txn: LabelledTransaction, moment: datetime) -> str | None:
    """ "fraud", "legit" or None (not known yet), as of ``moment`` (pure)."""
    explicit = explicit_label(txn.facts, moment)
    if explicit is not None:
        return explicit.label
    if matured(moment - txn.occurred_at, txn.maturity):
        return Label.LEGIT
    return None


def maturity_of(integrator: Integrator) -> timedelta:
    days = integrator.label_maturity_days
    return timedelta(days=settings.LABEL_MATURITY_DAYS if days is None else days)


def maturities() -> dict[int, timedelta]:
    """integrator pk → its maturity (one query; integrators are few)."""
    return {integrator.pk: maturity_of(integrator) for integrator in Integrator.objects.all()}


def transaction_label_as_of(transaction: Transaction, moment: datetime) -> str | None:
    """:func:`label_as_of` for one stored transaction (reads its labels)."""
    facts = tuple(
        LabelFact(label, source, reported_at)
        for label, source, reported_at in transaction.labels.values_list(
            "label", "source", "reported_at"
        )
    )
    labelled = LabelledTransaction(
        transaction.occurred_at, maturity_of(transaction.integrator), facts
    )
    return label_as_of(labelled, moment)


def _facts_by_transaction(events: QuerySet[LabelEvent]) -> dict[int, list[LabelFact]]:
    by_pk: dict[int, list[LabelFact]] = defaultdict(list)
    rows = events.values_list("transaction_id", "label", "source", "reported_at")
    for pk, label, source, reported_at in rows.iterator(chunk_size=5000):
        by_pk[pk].append(LabelFact(label, source, reported_at))
    return by_pk


def labels_as_of(*, transactions: QuerySet[Transaction], moment: datetime) -> dict[int, str]:
    """transaction pk → "fraud" / "legit" for the ``transactions`` whose label is known as of
    ``moment`` (two queries and the integrators, whatever their number)."""
    rows = transactions.values_list("pk", "occurred_at", "integrator_id")
    return labels_of_rows(
        rows=rows.iterator(chunk_size=5000),
        facts=label_facts(transactions=transactions, moment=moment),
        moment=moment,
    )


def label_facts(
    *, transactions: QuerySet[Transaction], moment: datetime
) -> dict[int, list[LabelFact]]:
    """transaction pk → its label events reported by ``moment``, for ``transactions`` (one
    query); a transaction with none is left out."""
    return events_label_facts(
        events=LabelEvent.objects.filter(transaction__in=transactions), moment=moment
    )


def events_label_facts(
    *, events: QuerySet[LabelEvent], moment: datetime
) -> dict[int, list[LabelFact]]:
    """:func:`label_facts` of the label ``events`` a caller chose (one query): transaction pk
    → its events among them reported by ``moment``."""
    return _facts_by_transaction(events.filter(reported_at__lte=moment))


def labels_of_rows(
    *,
    rows: Iterable[tuple[int, datetime, int]],
    facts: Mapping[int, list[LabelFact]],
    moment: datetime,
) -> dict[int, str]:
    """:func:`labels_as_of` for transactions a caller read already, as (pk, occurred_at,
    integrator pk) rows, with their :func:`label_facts` (no query but the integrators')."""
    known = maturities()
    labels: dict[int, str] = {}
    for pk, occurred_at, integrator_id in rows:
        txn = LabelledTransaction(occurred_at, known[integrator_id], tuple(facts.get(pk, ())))
        label = label_as_of(txn, moment)
        if label is not None:
            labels[pk] = label
    return labels


@dataclass
class LabelColumns:
    """Training's labels, one per row of the columns given to :func:`label_columns`."""

    y: np.ndarray  # int8: FRAUD, LEGIT or UNKNOWN
    explicit: np.ndarray  # bool: an explicit label decided (not maturity)
    # seconds from occurred_at to the report of the deciding fraud label; NaN for other rows
    fraud_delay_s: np.ndarray = field(repr=False)
    # bool: past its maturity, so its label is final unless a late chargeback comes
    mature: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=bool))


def label_columns(
    *,
    pks: np.ndarray,
    occurred_ts: np.ndarray,
    integrator_ids: np.ndarray,
    moment: datetime,
) -> LabelColumns:
    """:func:`label_as_of` for many transactions given as columns (transaction pk, occurred_at
    in seconds since the epoch, integrator pk): explicit labels from one query over the label
    events reported by ``moment``, maturity element-wise."""
    n = len(pks)
    y = np.full(n, UNKNOWN, dtype=np.int8)
    explicit = np.zeros(n, dtype=bool)
    delay = np.full(n, np.nan, dtype=np.float64)
    order = np.argsort(pks, kind="stable")
    facts = _facts_by_transaction(LabelEvent.objects.filter(reported_at__lte=moment))
    labelled = np.fromiter(facts.keys(), dtype=np.int64, count=len(facts))
    where = np.searchsorted(pks, labelled, sorter=order)
    for pk, at in zip(labelled.tolist(), where.tolist(), strict=True):
        if at >= n or pks[order[at]] != pk:
            continue  # a label on a transaction that is not among the rows
        row = int(order[at])
        deciding = explicit_label(facts[pk], moment)
        if deciding is None:  # cannot happen: every fact was reported by ``moment``
            continue
        explicit[row] = True
        y[row] = FRAUD if deciding.label == Label.FRAUD else LEGIT
        if y[row] == FRAUD:
            delay[row] = deciding.reported_at.timestamp() - float(occurred_ts[row])
    maturity_s = _maturity_seconds(integrator_ids)
    age_s = moment.timestamp() - occurred_ts.astype(np.float64)
    mature = matured(age_s, maturity_s)
    y[~explicit & mature] = LEGIT
    return LabelColumns(y, explicit, delay, mature)


def _maturity_seconds(integrator_ids: np.ndarray) -> np.ndarray:
    seconds = np.full(len(integrator_ids), np.inf)
    for pk, maturity in maturities().items():
        seconds[integrator_ids == pk] = maturity.total_seconds()
    return seconds


@dataclass(frozen=True)
class LabelCoverage:
    """How a training set was labelled, recorded with the model (ModelVersion.label_coverage)."""

    rows: int
    explicit: int  # rows an explicit label decided
    fraud: int
    legit_by_maturity: int
    fraud_delay_median_days: float | None
    fraud_delay_p90_days: float | None

    @classmethod
    def of(cls, columns: LabelColumns, rows: np.ndarray) -> LabelCoverage:
        """Coverage of the rows selected by the boolean mask ``rows``."""
        y, explicit = columns.y[rows], columns.explicit[rows]
        delays = columns.fraud_delay_s[rows]
        delays = delays[~np.isnan(delays)] / 86400
        median, p90 = (
            (float(np.median(delays)), float(np.quantile(delays, 0.9)))
            if len(delays)
            else (None, None)
        )
        return cls(
            rows=len(y),
            explicit=int(explicit.sum()),
            fraud=int((y == FRAUD).sum()),
            legit_by_maturity=int(((y == LEGIT) & ~explicit).sum()),
            fraud_delay_median_days=median,
            fraud_delay_p90_days=p90,
        )

    @property
    def explicit_share(self) -> float | None:
        return self.explicit / self.rows if self.rows else None

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "explicit": self.explicit,
            "explicit_share": self.explicit_share,
            "fraud": self.fraud,
            "legit_by_maturity": self.legit_by_maturity,
            "fraud_delay_median_days": self.fraud_delay_median_days,
            "fraud_delay_p90_days": self.fraud_delay_p90_days,
        }
