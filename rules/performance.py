"""How each rule earned its keep over a period (a selector: reads only), the page a fraud team
reviews weekly.

For every rule that fired in the period, live or in shadow, from the decisions' own records of
what fired (``Decision.rules``; ``Decision.shadow_rules`` once shadow rules are stored):

- hits, and the hit rate among all the period's decisions;
- precision: the share of fraud among its hits whose label is known as of ``moment``
  (``scoring.label_reads``, the one definition of a label);
- the fraud amount it caught, and the legit payments it challenged (a hit of a review or
  decline action on a payment that turned out legit);
- unique hits: those on decisions where no other live rule fired (the rest overlap), and the
  live rule it overlaps with most;
- its hits per day, for the trend chart.

The period is the transactions' time (``occurred_at``, UTC) as on the KPI page. The reads are
four queries, whatever the number of decisions: decisions per day counted in SQL; one pass
over the names and actions each decision with a hit recorded (on PostgreSQL read out of the
JSON in the database); the period's label events and the integrators' maturities, from which
``scoring.label_reads`` decides each hit's label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import CharField, Count, F, Func, Q, QuerySet
from django.db.models.functions import TruncDate

from rules.engine import Action
from rules.models import Rule, RuleMode
from scoring.label_reads import label_facts, labels_of_rows
from scoring.models import Decision, Label, Transaction

LIVE, SHADOW = "live", "shadow"
# Where a decision stores the rules that ran in shadow ({name, version, action} each), once
# shadow rules exist; until then every hit read is live.
SHADOW_FIELD = "shadow_rules"
# What the page may sort by: the attribute of :class:`RulePerformance`, compared as is.
SORT_KEYS: tuple[str, ...] = (
    "name", "mode", "action", "hits", "hit_rate", "labelled", "precision", "fraud_amount",
    "legit_challenged", "unique", "overlap",
)  # fmt: skip


@dataclass
class RulePerformance:
    """One rule's figures in one mode over the period."""

    name: str
    mode: str  # LIVE or SHADOW
    action: str  # the action of its latest hit (or, without hits, the rule's own)
    decisions: int = 0  # all the period's decisions: the hit rate's denominator
    hits: int = 0
    fraud_hits: int = 0
    legit_hits: int = 0
    fraud_amount: float = 0.0
    legit_challenged: int = 0
    unique: int = 0
    overlaps: Counter[str] = field(default_factory=Counter)
    daily: Counter[date] = field(default_factory=Counter)
    _latest: datetime | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return self.name if self.mode == LIVE else f"{self.name} (shadow)"

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.decisions if self.decisions else None

    @property
    def labelled(self) -> int:
        return self.fraud_hits + self.legit_hits

    @property
    def precision(self) -> float | None:
        return self.fraud_hits / self.labelled if self.labelled else None

    @property
    def overlap(self) -> int:
        return self.hits - self.unique

    @property
    def top_overlap(self) -> tuple[str, int] | None:
        """The live rule that fired with it most often, and how often."""
        ranked = self.overlaps.most_common(1)
        return ranked[0] if ranked else None

    @property
    def challenges(self) -> bool:
        """Whether its action stops or questions a payment (an allow rule waves it through)."""
        return self.action != Action.ALLOW

    def below(self, bar: float) -> bool:
        """Whether its precision is known and under ``bar`` (only a challenging rule)."""
        return self.challenges and self.precision is not None and self.precision < bar


class FiredRow(NamedTuple):
    """What one decision with a hit contributes: its transaction and the rules that fired."""

    transaction_pk: int
    occurred_at: datetime
    integrator_pk: int
    amount: float
    live: Sequence[tuple[str, str]]  # (name, action) of each live rule that fired
    shadow: Sequence[tuple[str, str]] = ()


def _fired(records: Any, name_key: str) -> list[tuple[str, str]]:
    """(name, action) of each record of a stored list of hits (None or malformed: none)."""
    if not isinstance(records, list):
        return []
    fired = []
    for record in records:
        if isinstance(record, dict):
            name = record.get(name_key) or record.get("name")
            if name:
                fired.append((str(name), str(record.get("action", ""))))
    return fired


def _fired_text(text: str | None, name_key: str) -> list[tuple[str, str]]:
    """:func:`_fired` of what :func:`_fired_in_db` read: "name action,name action"."""
    if not text:
        return []
    return [(name, action) for name, _, action in (hit.partition(" ") for hit in text.split(","))]


def _fired_in_db(field: str, name_key: str) -> Func:
    """A stored list of hits as "name action,name action", read in PostgreSQL: each record
    carries its rule's expression, which this page does not need and which costs more to
    decode than the rest of the row. Rule names and actions hold no space or comma."""
    column = "%(expressions)s"
    elements = (
        f"jsonb_array_elements(CASE WHEN jsonb_typeof({column}) = 'array' "
        f"THEN {column} ELSE '[]'::jsonb END)"
    )
    if name_key not in ("rule", "name"):  # the template is SQL: only this module's two keys
        raise ValueError(f"not a key of a stored hit: {name_key!r}")
    template = (
        f"(SELECT string_agg(coalesce(r->>'{name_key}', r->>'name') || ' ' "  # noqa: S608
        f"|| coalesce(r->>'action', ''), ',') FROM {elements} r "
        "WHERE jsonb_typeof(r) = 'object')"
    )
    return Func(F(field), template=template, output_field=CharField())


def rules_tally(
    rows: Iterable[FiredRow], labels: dict[int, str]
) -> dict[tuple[str, str], RulePerformance]:
    """(name, mode) → its figures, from the decisions with a hit and their labels (pure)."""
    tally: dict[tuple[str, str], RulePerformance] = {}
    for row in rows:
        live_names = {name for name, _ in row.live}
        label = labels.get(row.transaction_pk)
        day = row.occurred_at.astimezone(UTC).date()
        for mode, fired in ((LIVE, row.live), (SHADOW, row.shadow)):
            for name, action in dict(fired).items():  # a name counted once per decision
                perf = tally.get((name, mode))
                if perf is None:
                    perf = tally[(name, mode)] = RulePerformance(name, mode, action)
                _count(perf, row, day, action, label, live_names - {name})
    return tally


def _count(
    perf: RulePerformance,
    row: FiredRow,
    day: date,
    action: str,
    label: str | None,
    others: set[str],
) -> None:
    perf.hits += 1
    perf.daily[day] += 1
    if perf._latest is None or row.occurred_at >= perf._latest:
        perf._latest, perf.action = row.occurred_at, action
    if others:
        perf.overlaps.update(others)
    else:
        perf.unique += 1
    if label == Label.FRAUD:
        perf.fraud_hits += 1
        perf.fraud_amount += row.amount
    elif label == Label.LEGIT:
        perf.legit_hits += 1
        perf.legit_challenged += action != Action.ALLOW


@dataclass(frozen=True)
class RulesReport:
    """What the per-rule page shows for one period."""

    since: datetime
    until: datetime
    decisions: int
    days: list[date]
    decisions_daily: list[int]
    rows: list[RulePerformance]
    shadow_stored: bool  # whether decisions store shadow hits yet

    def daily(self, perf: RulePerformance) -> list[int]:
        return [perf.daily.get(day, 0) for day in self.days]


def shadow_stored() -> bool:
    return any(f.name == SHADOW_FIELD for f in Decision._meta.get_fields())


def _period(since: datetime, until: datetime) -> QuerySet[Decision]:
    return Decision.objects.filter(
        transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
    )


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.astimezone(UTC).date(), (until - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _with_hits(decisions: QuerySet[Decision], shadow: bool) -> QuerySet[Decision]:
    fired = ~Q(rules=[])
    if shadow:
        fired |= ~Q(**{SHADOW_FIELD: []}) & Q(**{f"{SHADOW_FIELD}__isnull": False})
    return decisions.filter(fired)


def _fired_rows(decisions: QuerySet[Decision], shadow: bool) -> list[FiredRow]:
    """One pass over the decisions with a hit: their transaction, and what fired."""
    fields = [("rules", "rule"), *([(SHADOW_FIELD, "name")] if shadow else [])]
    in_db = connection.vendor == "postgresql"
    if in_db:
        decisions = decisions.annotate(
            **{f"fired_{field}": _fired_in_db(field, key) for field, key in fields}
        )
    columns = [f"fired_{field}" if in_db else field for field, _ in fields]
    read = _fired_text if in_db else _fired
    rows = decisions.values_list(
        "transaction_id", "transaction__occurred_at", "transaction__integrator_id",
        "transaction__amount", *columns,
    )  # fmt: skip
    return [
        FiredRow(
            pk, occurred_at, integrator_pk, float(amount), read(live, "rule"),
            read(rest[0], "name") if rest else (),
        )
        for pk, occurred_at, integrator_pk, amount, live, *rest in rows
    ]  # fmt: skip


def _without_hits(tally: dict[tuple[str, str], RulePerformance]) -> list[RulePerformance]:
    """The rules in force now that did not fire in the period (a rule that never fires is
    worth a look too), in their mode; a disabled rule is not in force."""
    idle = []
    for rule in Rule.objects.exclude(mode=RuleMode.DISABLED):
        # A rollout stores its hits in its share as live ones, the rest as shadow ones.
        mode = SHADOW if rule.mode == RuleMode.SHADOW else LIVE
        if (rule.name, mode) not in tally:
            idle.append(RulePerformance(rule.name, mode, rule.action))
    return idle


def rules_performance(*, since: datetime, until: datetime, moment: datetime) -> RulesReport:
    """Every rule's figures over [since, until), on labels known as of ``moment``."""
    decisions = _period(since, until)
    per_day = dict(
        decisions.annotate(day=TruncDate("transaction__occurred_at"))
        .values("day")
        # the foreign key, not the pk: read from its unique index alone, not the wide rows
        .annotate(n=Count("transaction"))
        .values_list("day", "n")
    )
    days = _days(since, until)
    daily_counts = [per_day.get(day, 0) for day in days]
    total = sum(per_day.values())
    shadow = shadow_stored()
    rows = _fired_rows(_with_hits(decisions, shadow), shadow)
    # scoring.label_reads decides each label; its facts are read for the period's transactions
    # (a query simpler than "those with a hit", and the page reads only the hits' ones).
    facts = label_facts(
        transactions=Transaction.objects.filter(occurred_at__gte=since, occurred_at__lt=until),
        moment=moment,
    )
    labels = labels_of_rows(
        rows=((row.transaction_pk, row.occurred_at, row.integrator_pk) for row in rows),
        facts=facts,
        moment=moment,
    )
    tally = rules_tally(rows, labels)
    performances = [*tally.values(), *_without_hits(tally)]
    for perf in performances:
        perf.decisions = total
    performances.sort(key=lambda p: (-p.hits, p.name, p.mode))
    return RulesReport(since, until, total, days, daily_counts, performances, shadow)


def rules_sorted(
    rows: list[RulePerformance], *, key: str, descending: bool
) -> list[RulePerformance]:
    """``rows`` by one of :data:`SORT_KEYS`, ties by name; a figure not known (no labelled
    hits) goes last either way."""
    by_name = sorted(rows, key=lambda row: row.key)
    known = [row for row in by_name if getattr(row, key) is not None]
    unknown = [row for row in by_name if getattr(row, key) is None]
    known.sort(key=lambda row: getattr(row, key), reverse=descending)  # stable: ties by name
    return known + unknown
