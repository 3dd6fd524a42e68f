"""The investigation console's read: an expression in the rule language run over stored
decisions (a selector: reads only).

Each decision of the period is seen as the facts a rule saw when it was decided (its recorded
features, the transaction's fields, the hour of day: ``TransactionFacts.rule_facts``) and what
became of it: its ``outcome``, what the rules alone said (``rules_outcome``), the model's
``score`` (null without a model) and its ``label`` as of ``moment`` ("fraud", "legit", or null
while not known yet: ``scoring.label_reads``, the one definition). An expression naming only the
rule facts can be saved as a rule; one naming the others is a question about history.

The newest :data:`SCAN_CAP` decisions of the period are scanned (a page waits for them), and
the result says when the period held more.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import rule_engine
from django.db.models.fields.json import KeyTransform

from rules.engine import FactType, compile_expression
from scoring.features.definitions import FEATURE_NAMES
from scoring.label_reads import labels_as_of
from scoring.models import Decision, Label, Transaction
from scoring.transaction import ROW_COLUMNS, RULE_FACTS, stored_from_row

SCAN_CAP = 50_000
SAMPLE = 50

# What a console expression may name: the rule facts, and what became of the decision.
CONSOLE_FACTS: Mapping[str, FactType] = {
    **RULE_FACTS,
    "outcome": FactType.STRING,
    "rules_outcome": FactType.STRING,
    "score": FactType.NUMBER,
    "label": FactType.STRING,
}
# The recorded features an expression may name (the hour of day is computed, not recorded).
_FEATURES = frozenset(FEATURE_NAMES) & RULE_FACTS.keys()
# A decision's columns, then the features the expression names, then its transaction's
# (scoring.transaction.stored_from_row reads those).
_DECISION_COLUMNS = ("pk", "transaction_id", "outcome", "rules_outcome", "score", "case__id")
_TRANSACTION_COLUMNS = tuple(f"transaction__{column}" for column in ROW_COLUMNS)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _features_named(expression: str) -> tuple[str, ...]:
    """The recorded features ``expression`` may read: every word of it that names one (a
    superset: a word inside a string counts too). Only those are read: a decision records
    some seventy, and decoding them all took most of a scan's time."""
    return tuple(sorted(set(_IDENTIFIER.findall(expression)) & _FEATURES))


@dataclass(frozen=True)
class ConsoleMatch:
    """A matching decision, as the sample lists it."""

    decision_id: uuid.UUID
    transaction_id: str
    occurred_at: datetime
    amount: float
    currency: str
    outcome: str
    score: float | None
    label: str | None
    case_id: int | None


@dataclass
class ConsoleResult:
    expression: str
    since: datetime
    until: datetime
    days: list[date]
    scanned: int = 0
    capped: bool = False  # the period held more decisions than were scanned
    oldest_scanned: datetime | None = None
    matched: int = 0
    errors: int = 0  # decisions the expression could not be evaluated on (a missing value)
    matched_fraud: int = 0
    matched_legit: int = 0
    matched_fraud_amount: float = 0.0
    fraud: int = 0  # among the scanned
    scanned_daily: Counter[date] = field(default_factory=Counter)
    matched_daily: Counter[date] = field(default_factory=Counter)
    sample: list[ConsoleMatch] = field(default_factory=list)  # the newest matches

    @property
    def precision(self) -> float | None:
        labelled = self.matched_fraud + self.matched_legit
        return self.matched_fraud / labelled if labelled else None

    @property
    def recall(self) -> float | None:
        """The share of the scanned decisions' frauds the expression matches."""
        return self.matched_fraud / self.fraud if self.fraud else None

    def series(self, counts: Counter[date]) -> list[int]:
        return [counts.get(day, 0) for day in self.days]


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.astimezone(UTC).date(), (until - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class _Scanned:
    """One decision read as :data:`_COLUMNS`: what the expression sees, and what the sample
    lists."""

    facts: dict[str, Any]
    match: ConsoleMatch
    transaction_pk: int


def _scanned(row: tuple[Any, ...], features: tuple[str, ...], labels: dict[int, str]) -> _Scanned:
    decision_id, txn_pk, outcome, rules_outcome, score, case_id = row[: len(_DECISION_COLUMNS)]
    recorded = row[len(_DECISION_COLUMNS) : len(_DECISION_COLUMNS) + len(features)]
    txn = stored_from_row(row[len(_DECISION_COLUMNS) + len(features) :]).facts
    label = labels.get(txn_pk)
    facts = txn.rule_facts(dict(zip(features, recorded, strict=True)))
    facts.update(outcome=outcome, rules_outcome=rules_outcome, score=score, label=label)
    match = ConsoleMatch(
        decision_id=decision_id, transaction_id=txn.transaction_id, occurred_at=txn.occurred_at,
        amount=float(txn.amount), currency=txn.currency, outcome=outcome, score=score,
        label=label, case_id=case_id,
    )  # fmt: skip
    return _Scanned(facts, match, txn_pk)


def console_query(
    *, expression: str, since: datetime, until: datetime, moment: datetime, cap: int = SCAN_CAP
) -> ConsoleResult:
    """Run ``expression`` over the newest ``cap`` decisions of [since, until).

    Raises :class:`rules.engine.InvalidRule` when it does not compile against
    :data:`CONSOLE_FACTS`.
    """
    rule = compile_expression(expression, CONSOLE_FACTS)
    result = ConsoleResult(expression, since, until, _days(since, until))
    features = _features_named(expression)
    aliases = {f"feature_{i}": KeyTransform(name, "features") for i, name in enumerate(features)}
    rows = list(
        Decision.objects.filter(
            transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
        )
        .annotate(**aliases)
        .order_by("-transaction__occurred_at", "-pk")
        .values_list(*_DECISION_COLUMNS, *aliases, *_TRANSACTION_COLUMNS)[: cap + 1]
    )
    result.capped = len(rows) > cap
    rows = rows[:cap]
    if not rows:
        return result
    occurred_at = len(_DECISION_COLUMNS) + len(features) + ROW_COLUMNS.index("occurred_at")
    result.oldest_scanned = rows[-1][occurred_at]
    # The scanned transactions are among the period's from the oldest scanned on.
    labels = labels_as_of(
        transactions=Transaction.objects.filter(
            occurred_at__gte=result.oldest_scanned, occurred_at__lt=until
        ),
        moment=moment,
    )
    for row in rows:
        _scan(result, rule, _scanned(row, features, labels))
    return result


def _scan(result: ConsoleResult, rule: rule_engine.Rule, scanned: _Scanned) -> None:
    label = scanned.match.label
    day = scanned.match.occurred_at.astimezone(UTC).date()
    result.scanned += 1
    result.scanned_daily[day] += 1
    result.fraud += label == Label.FRAUD
    try:
        matched = rule.matches(scanned.facts)
    except rule_engine.errors.EngineError:
        result.errors += 1
        return
    if not matched:
        return
    result.matched += 1
    result.matched_daily[day] += 1
    if label == Label.FRAUD:
        result.matched_fraud += 1
        result.matched_fraud_amount += scanned.match.amount
    elif label == Label.LEGIT:
        result.matched_legit += 1
    if len(result.sample) < SAMPLE:
        result.sample.append(scanned.match)
