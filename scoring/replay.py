"""Replaying stored transactions through ``decide()``: the one path for training sets,
backtests and warming an in-process feature store.

Transactions are replayed in time order into a fresh store, so each one's features use only
what came before it: the same values the live decision saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from scoring.features.definitions import Event
from scoring.features.store import FeatureStore, MemoryFeatureStore
from scoring.model import NoModelScorer, Scorer
from scoring.models import Transaction
from scoring.pipeline import DecisionResult, Policy, TransactionFacts, decide


def facts_from_transaction(txn: Transaction) -> TransactionFacts:
    """The pipeline's view of a stored transaction (the inverse of what the API stored)."""
    return TransactionFacts(
        transaction_id=txn.transaction_id,
        occurred_at=txn.occurred_at_local(),
        amount=txn.amount,
        currency=txn.currency,
        customer_id=txn.customer_id,
        merchant_id=txn.merchant_id,
        channel=txn.channel,
        card_id=txn.card_id or None,
        merchant_category=txn.merchant_category or None,
        country=txn.country or None,
        ip=txn.ip or None,
        device_id=txn.device_id or None,
        email_hash=txn.email_hash or None,
        email_domain=txn.email_domain or None,
        payee_id=txn.payee_id or None,
    )


def transactions_in_time_order(*, until: datetime | None = None) -> Iterator[Transaction]:
    queryset = Transaction.objects.order_by("occurred_at", "pk")
    if until is not None:
        queryset = queryset.filter(occurred_at__lt=until)
    return queryset.iterator(chunk_size=5000)


@dataclass(frozen=True)
class Replayed:
    transaction: Transaction
    result: DecisionResult


def replay(
    transactions: Iterator[Transaction],
    *,
    policy: Policy,
    scorer: Scorer | None = None,
    store: FeatureStore | None = None,
) -> Iterator[Replayed]:
    """Decide every transaction again, in the given order, against a fresh store."""
    store = store or MemoryFeatureStore()
    scorer = scorer or NoModelScorer()
    for txn in transactions:
        result = decide(
            facts_from_transaction(txn),
            ref=txn.transaction_id,
            scope=str(txn.integrator_id),
            store=store,
            policy=policy,
            scorer=scorer,
        )
        yield Replayed(txn, result)


_EVENT_FIELDS = (
    "transaction_id", "integrator_id", "occurred_at", "utc_offset_minutes", "amount",
    "customer_id", "merchant_id", "card_id", "device_id", "ip", "country", "channel", "payee_id",
)  # fmt: skip


def store_warm(store: FeatureStore) -> int:
    """Record every stored transaction, in time order, into an empty in-process store.

    The embedded default keeps features in the server's memory; warming it from the database
    gives live decisions the same history a training replay sees. Rows are read as tuples
    (no model instances): this runs before the server answers its first request.
    """
    count = 0
    rows = Transaction.objects.order_by("occurred_at", "pk").values_list(*_EVENT_FIELDS)
    for row in rows.iterator(chunk_size=5000):
        txn_id, scope, occurred_at, offset, amount, customer, merchant, card, device, ip, *rest = (
            row
        )
        country, channel, payee = rest
        local = occurred_at + timedelta(minutes=offset)
        event = Event(
            ref=txn_id,
            ts=occurred_at.timestamp(),
            amount=float(amount),
            customer_id=customer,
            merchant_id=merchant,
            card_id=card or None,
            device_id=device or None,
            ip=ip or None,
            country=country or None,
            local_hour=local.hour + local.minute / 60,
            channel=channel,
            payee_id=payee or None,
        )
        store.observe(event, scope=str(scope))
        count += 1
    return count
