"""KPIs for managers: aggregate reads over decisions, labels and cases (a few queries each;
what a transaction turned out to be is ``scoring.label_reads``' one definition).

Days are the transactions' days (``occurred_at``, UTC): a simulated or back-filled history
lands where it happened, not where it was loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from cases.models import ACTIVE, Case, CaseStatus
from rules.policy import Outcome
from scoring.label_reads import labels_as_of
from scoring.models import Decision, DriftReport, Label, Transaction

# The decision series, one per outcome, in the enum's order.
OUTCOMES = tuple(outcome.value for outcome in Outcome)


@dataclass
class Daily:
    since: datetime
    days: list[date]
    # None: nothing to average that day (a chart leaves a gap, not a 0)
    series: dict[str, list[float | None]] = field(default_factory=dict)


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.date(), until.date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _daily(
    rows: Any,
    since: datetime,
    days: list[date],
    names: tuple[str, ...],
    *,
    averages: tuple[str, ...] = (),
) -> Daily:
    by_day = {row["day"]: row for row in rows}
    daily = Daily(since, days)
    for name in names:
        values: list[float | None] = []
        for day in days:
            value = by_day.get(day, {}).get(name)
            values.append(None if value is None and name in averages else float(value or 0))
        daily.series[name] = values
    return daily


def total(values: list[float | None]) -> float:
    return sum(v for v in values if v is not None)


@dataclass(frozen=True)
class PeriodTotals:
    decided: int
    review_rate: float | None
    decline_rate: float | None
    degraded: int
    frauds: int
    caught_rate: float | None
    caught_amount_rate: float | None
    false_alarms: int


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def period_totals(decisions: Daily, fraud: Daily) -> PeriodTotals:
    """The period's tiles, from the daily series."""
    sums = {name: total(values) for name, values in decisions.series.items()}
    fraud_sums = {name: total(values) for name, values in fraud.series.items()}
    decided = sum(sums[outcome] for outcome in OUTCOMES)
    frauds = fraud_sums["caught"] + fraud_sums["missed"]
    fraud_amount = fraud_sums["caught_amount"] + fraud_sums["missed_amount"]
    return PeriodTotals(
        decided=int(decided),
        review_rate=_share(sums[Outcome.REVIEW], decided),
        decline_rate=_share(sums[Outcome.DECLINE], decided),
        degraded=int(sums["degraded"]),
        frauds=int(frauds),
        caught_rate=_share(fraud_sums["caught"], frauds),
        caught_amount_rate=_share(fraud_sums["caught_amount"], fraud_amount),
        false_alarms=int(fraud_sums["false_alarms"]),
    )


def decisions_daily(*, since: datetime, until: datetime) -> Daily:
    """Decisions per day by outcome, degraded ones, and the mean latency (ms)."""
    rows = (
        Decision.objects.filter(
            transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
        )
        .annotate(day=TruncDate("transaction__occurred_at"))
        .values("day")
        .annotate(
            **{outcome: Count("pk", filter=Q(outcome=outcome)) for outcome in OUTCOMES},
            degraded=Count("pk", filter=Q(degraded=True)),
            latency=Avg("latency_ms"),
        )
        .order_by("day")
    )
    return _daily(
        rows, since, _days(since, until), (*OUTCOMES, "degraded", "latency"), averages=("latency",)
    )


def fraud_daily(*, since: datetime, until: datetime, moment: datetime | None = None) -> Daily:
    """Transactions that turned out fraud per day (``scoring.label_reads``, as known at
    ``moment``, default now): caught (review or decline) or missed (approved), in count and
    amount; and legit ones (reported, or past their maturity) that were challenged."""
    in_period = Transaction.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
    approved = Q(decision__outcome=Outcome.APPROVE)
    # Only a transaction with a fraud report or a challenge can count: read those alone.
    candidates = in_period.filter(Q(labels__label=Label.FRAUD) | ~approved).distinct()
    labels = labels_as_of(transactions=candidates, moment=moment or timezone.now())
    names = ("caught", "missed", "caught_amount", "missed_amount", "false_alarms")
    by_day: dict[date, dict[str, float]] = {}
    rows = candidates.values_list("pk", "occurred_at", "amount", "decision__outcome")
    for pk, occurred_at, amount, outcome in rows:
        label = labels.get(pk)
        if label is None:
            continue
        day = by_day.setdefault(occurred_at.astimezone(UTC).date(), dict.fromkeys(names, 0.0))
        caught = outcome != Outcome.APPROVE
        if label == Label.FRAUD:
            day["caught" if caught else "missed"] += 1
            day["caught_amount" if caught else "missed_amount"] += float(amount)
        elif caught:
            day["false_alarms"] += 1
    daily_rows = [{"day": day, **values} for day, values in by_day.items()]
    return _daily(daily_rows, since, _days(since, until), names)


@dataclass(frozen=True)
class Backlog:
    open: int
    claimed: int
    escalated: int
    sla_breached: int
    decided_in_period: int
    median_minutes_to_verdict: float | None


def case_backlog(*, since: datetime) -> Backlog:
    now = timezone.now()
    counts = Case.objects.aggregate(
        open=Count("pk", filter=Q(status=CaseStatus.OPEN)),
        claimed=Count("pk", filter=Q(status=CaseStatus.CLAIMED)),
        escalated=Count("pk", filter=Q(status=CaseStatus.ESCALATED)),
        breached=Count("pk", filter=Q(status__in=ACTIVE, sla_due_at__lt=now)),
    )
    took = ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField())
    durations = sorted(
        Case.objects.filter(status=CaseStatus.DECIDED, decided_at__gte=since)
        .annotate(took=took)
        .values_list("took", flat=True)
    )
    median = None
    if durations:
        median = durations[len(durations) // 2].total_seconds() / 60
    return Backlog(
        open=counts["open"],
        claimed=counts["claimed"],
        escalated=counts["escalated"],
        sla_breached=counts["breached"],
        decided_in_period=len(durations),
        median_minutes_to_verdict=median,
    )


def verdicts_by_analyst(*, since: datetime) -> dict[str, dict[str, int]]:
    """username → verdict → cases decided since ``since``."""
    rows = (
        Case.objects.filter(status=CaseStatus.DECIDED, decided_at__gte=since)
        .values("assignee__username", "verdict")
        .annotate(n=Count("pk"))
        .order_by("assignee__username")
    )
    result: dict[str, dict[str, int]] = {}
    for row in rows:
        name = row["assignee__username"] or "(nobody)"
        result.setdefault(name, {})[row["verdict"]] = row["n"]
    return result


@dataclass(frozen=True)
class DriftSummary:
    report: DriftReport
    top: list[tuple[str, float]]  # the largest PSI values, largest first


def drift_latest(*, top: int = 8) -> DriftSummary | None:
    report = DriftReport.objects.first()
    if report is None:
        return None
    ranked = sorted(report.psi.items(), key=lambda item: item[1], reverse=True)[:top]
    return DriftSummary(report, ranked)


@dataclass(frozen=True)
class Dashboard:
    """Everything the KPI page shows for one period."""

    since: datetime
    decisions: Daily
    fraud: Daily
    totals: PeriodTotals
    backlog: Backlog
    drift: DriftSummary | None
    verdicts: dict[str, dict[str, int]]


def dashboard(*, days: int, now: datetime | None = None) -> Dashboard:
    """The last ``days`` days up to ``now``, from the start of the first day (UTC)."""
    until = now or timezone.now()
    since = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    decisions = decisions_daily(since=since, until=until)
    fraud = fraud_daily(since=since, until=until, moment=now)
    return Dashboard(
        since=since,
        decisions=decisions,
        fraud=fraud,
        totals=period_totals(decisions, fraud),
        backlog=case_backlog(since=since),
        drift=drift_latest(),
        verdicts=verdicts_by_analyst(since=since),
    )
