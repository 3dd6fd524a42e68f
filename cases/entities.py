"""Reads of an entity's profile: a customer, card, device, IP address, e-mail hash or merchant
seen on transactions, with its timeline, aggregates, cases and the entities linked to it.

Every figure is over all the transactions carrying the value (whatever the integrator); labels
are read as of ``now`` through :mod:`scoring.label_reads`, the one definition. A profile costs a
fixed number of queries, whatever the number of transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.core.validators import validate_ipv46_address
from django.db.models import Count, Max, Min, QuerySet, Sum

from cases.models import Case
from cases.selectors import queues_of
from scoring.label_reads import labels_as_of
from scoring.models import Label, Transaction

# Entity kind → the transaction's column holding it, in the order the pages show them.
ENTITY_COLUMNS: dict[str, str] = {
    "customer": "customer_id",
    "card": "card_id",
    "device": "device_id",
    "ip": "ip",
    "email": "email_hash",
    "merchant": "merchant_id",
}
ENTITY_TITLES: dict[str, str] = {
    "customer": "Customer",
    "card": "Card",
    "device": "Device",
    "ip": "IP address",
    "email": "E-mail (hashed)",
    "merchant": "Merchant",
}
TIMELINE_PAGE = 25
LINKED_LIMIT = 10
CASES_LIMIT = 50
VALUE_MAX_LENGTH = 253


class EntityValueError(ValueError):
    """The value cannot name an entity of this kind (an IP address that is not one)."""


def entity_value_check(*, kind: str, value: str) -> str:
    """The value, stripped, or :class:`EntityValueError` saying what is wrong with it."""
    value = value.strip()
    if not value or len(value) > VALUE_MAX_LENGTH:
        raise EntityValueError(f"value: 1 to {VALUE_MAX_LENGTH} characters.")
    if kind == "ip":
        try:
            validate_ipv46_address(value)
        except ValidationError as exc:
            raise EntityValueError("value: not an IPv4 or IPv6 address.") from exc
    return value


def entity_display(kind: str, value: str) -> str:
    """How a value is printed: an e-mail hash shortened (it is 64 hex digits)."""
    return f"{value[:12]}…" if kind == "email" and len(value) > 12 else value


def entity_transactions(*, kind: str, value: str) -> QuerySet[Transaction]:
    return Transaction.objects.filter(**{ENTITY_COLUMNS[kind]: value})


@dataclass(frozen=True)
class AmountTotal:
    currency: str
    transactions: int
    total: Decimal


@dataclass(frozen=True)
class Aggregates:
    transactions: int
    amounts: list[AmountTotal]  # per currency, most transactions first
    fraud_labelled: int  # transactions whose label as of now is fraud
    first_seen: datetime | None
    last_seen: datetime | None
    outcomes: dict[str, int]  # approve / review / decline (and "none": never decided)


@dataclass(frozen=True)
class TimelineRow:
    pk: int
    transaction_id: str
    occurred_at: datetime
    amount: Decimal
    currency: str
    channel: str
    outcome: str  # "" when never decided
    score: float | None
    label: str  # "fraud", "legit" or "" (not known yet)
    case_id: int | None  # only a case in the user's queues
    entities: dict[str, str]  # kind → value, empty ones left out


@dataclass(frozen=True)
class Linked:
    kind: str
    value: str
    transactions: int  # the profile's transactions that carry it


@dataclass(frozen=True)
class CaseRef:
    pk: int
    status: str
    verdict: str
    queue: str
    created_at: datetime
    transaction_id: str


@dataclass(frozen=True)
class EntityProfile:
    kind: str
    value: str
    aggregates: Aggregates
    timeline: Page[Transaction]
    rows: list[TimelineRow]
    cases: list[CaseRef]
    linked: dict[str, list[Linked]]  # other kind → its most frequent values


def entity_profile(
    *, kind: str, value: str, user: Any, page: str | int, now: datetime
) -> EntityProfile:
    """The profile of ``kind`` = ``value`` as ``user`` sees it (cases: those of their queues),
    its timeline at ``page`` (newest first; an out-of-range page gives the last)."""
    transactions = entity_transactions(kind=kind, value=value)
    aggregates = entity_aggregates(transactions=transactions, now=now)
    ordered = transactions.select_related("decision", "decision__case").order_by(
        "-occurred_at", "-pk"
    )
    paginator: Paginator[Transaction] = Paginator(ordered, TIMELINE_PAGE)
    paginator.count = aggregates.transactions  # already counted: no second COUNT(*)
    timeline = paginator.get_page(page)
    return EntityProfile(
        kind=kind,
        value=value,
        aggregates=aggregates,
        timeline=timeline,
        rows=_timeline_rows(list(timeline.object_list), user=user, now=now),
        cases=entity_cases(transactions=transactions, user=user),
        linked=entity_linked(kind=kind, transactions=transactions),
    )


def entity_aggregates(*, transactions: QuerySet[Transaction], now: datetime) -> Aggregates:
    """Counts, amounts per currency, first and last seen, outcomes, fraud labels."""
    per_currency = list(
        transactions.values("currency")
        .annotate(
            n=Count("pk"), total=Sum("amount"), first=Min("occurred_at"), last=Max("occurred_at")
        )
        .order_by("-n", "currency")
    )
    outcomes = {
        (row["decision__outcome"] or "none"): row["n"]
        for row in transactions.values("decision__outcome").annotate(n=Count("pk")).order_by()
    }
    # Only a transaction with a label event can be fraud (maturity only ever makes legit).
    labelled = transactions.filter(labels__isnull=False).distinct()
    fraud = sum(
        1
        for label in labels_as_of(transactions=labelled, moment=now).values()
        if label == Label.FRAUD
    )
    return Aggregates(
        transactions=sum(row["n"] for row in per_currency),
        amounts=[AmountTotal(row["currency"], row["n"], row["total"]) for row in per_currency],
        fraud_labelled=fraud,
        first_seen=min((row["first"] for row in per_currency), default=None),
        last_seen=max((row["last"] for row in per_currency), default=None),
        outcomes=outcomes,
    )


def _timeline_rows(page: list[Transaction], *, user: Any, now: datetime) -> list[TimelineRow]:
    labels = labels_as_of(
        transactions=Transaction.objects.filter(pk__in=[t.pk for t in page]), moment=now
    )
    visible = set(queues_of(user).values_list("pk", flat=True))
    rows = []
    for txn in page:
        decision = getattr(txn, "decision", None)
        case = getattr(decision, "case", None) if decision is not None else None
        rows.append(
            TimelineRow(
                pk=txn.pk,
                transaction_id=txn.transaction_id,
                occurred_at=txn.occurred_at,
                amount=txn.amount,
                currency=txn.currency,
                channel=txn.get_channel_display(),  # in words
                outcome=decision.outcome if decision is not None else "",
                score=decision.score if decision is not None else None,
                label=str(labels.get(txn.pk, "")),
                case_id=case.pk if case is not None and case.queue_id in visible else None,
                entities={
                    kind: str(found)
                    for kind, column in ENTITY_COLUMNS.items()
                    if (found := getattr(txn, column))
                },
            )
        )
    return rows


def entity_cases(*, transactions: QuerySet[Transaction], user: Any) -> list[CaseRef]:
    """The cases of these transactions in the user's queues, newest first (at most 50)."""
    cases = (
        Case.objects.filter(decision__transaction__in=transactions, queue__in=queues_of(user))
        .select_related("queue", "decision__transaction")
        .only(
            "status",
            "verdict",
            "created_at",
            "queue__name",
            "decision__transaction__transaction_id",
        )
        .order_by("-created_at", "-pk")[:CASES_LIMIT]
    )
    return [
        CaseRef(
            c.pk,
            c.status,
            c.verdict,
            c.queue.name,
            c.created_at,
            c.decision.transaction.transaction_id,
        )
        for c in cases
    ]


def entity_linked(*, kind: str, transactions: QuerySet[Transaction]) -> dict[str, list[Linked]]:
    """For each other kind, the values seen on these transactions, most frequent first (one
    query per kind, at most :data:`LINKED_LIMIT` values each)."""
    linked: dict[str, list[Linked]] = {}
    for other, column in ENTITY_COLUMNS.items():
        if other == kind:
            continue
        present = transactions.exclude(**{f"{column}__isnull": True})
        if column != "ip":
            present = present.exclude(**{column: ""})
        rows = present.values(column).annotate(n=Count("pk")).order_by("-n", column)[:LINKED_LIMIT]
        linked[other] = [Linked(other, str(row[column]), row["n"]) for row in rows]
    return linked
