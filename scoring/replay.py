"""Replaying stored transactions through ``decide()``: the one path for training sets,
backtests and warming an in-process feature store.

Transactions are replayed in time order into a fresh store, so each one's features use only
what came before it: the same values the live decision saw.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from rules.policy import Policy
from scoring.features.cold import ColdHistory, ColdLabel, ScopedEvent
from scoring.features.definitions import Features, FeatureValue
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.store import ColdOverlay, FeatureStore
from scoring.models import Decision, Label, LabelEvent, Transaction
from scoring.pipeline import DecisionResult, decide
from scoring.scorer import NoModelScorer, Scorer
from scoring.transaction import StoredTransaction
from scoring.transaction_rows import facts_from_transaction, stored_transactions


def transactions_in_time_order(*, until: datetime | None = None) -> Iterator[Transaction]:
    queryset = Transaction.objects.select_related("decision").order_by("occurred_at", "pk")
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
    cold: ColdHistory | None = None,
) -> Iterator[Replayed]:
    """Decide every transaction again, in the given order, against a fresh store.

    Cold values are the ones of the generation each stored decision recorded (``cold_as_of``),
    answered by ``cold`` (by default built from every stored transaction and label).
    """
    overlay = ColdOverlay(store or MemoryFeatureStore(), cold or cold_history_load())
    scorer = scorer or NoModelScorer()
    for txn in transactions:
        overlay.at(_recorded_cold_as_of(txn))
        yield Replayed(txn, decide_stored(txn, store=overlay, policy=policy, scorer=scorer))


def features_recomputed(
    stale: Collection[int], *, policy: Policy
) -> Iterator[tuple[int, Features]]:
    """(pk, features) of the stored transactions in ``stale`` (pks), decided again through
    ``decide()`` with today's definitions; in time order, until the last of them.

    Training reads the features each decision stored; these are the ones stored with an older
    feature-set version. Every other transaction before them is only recorded into the fresh
    store (not decided), so each recomputed row sees the history before it, as in
    :func:`replay`.
    """
    remaining = set(stale)
    if not remaining:
        return
    overlay = ColdOverlay(MemoryFeatureStore(), cold_history_load())
    scorer = NoModelScorer()
    for txn in transactions_in_time_order():
        overlay.at(_recorded_cold_as_of(txn))
        if txn.pk not in remaining:
            event = facts_from_transaction(txn).event(txn.transaction_id)
            overlay.observe(event, scope=str(txn.integrator_id))
            continue
        yield txn.pk, decide_stored(txn, store=overlay, policy=policy, scorer=scorer).features
        remaining.discard(txn.pk)
        if not remaining:
            return


def decide_stored(
    txn: Transaction,
    *,
    store: FeatureStore,
    policy: Policy,
    scorer: Scorer,
    recorded: Mapping[str, FeatureValue] | None = None,
) -> DecisionResult:
    """``decide()`` for a stored transaction, as the API decided it (replays, backtests)."""
    return decide(
        facts_from_transaction(txn),
        ref=txn.transaction_id,
        scope=str(txn.integrator_id),
        store=store,
        policy=policy,
        scorer=scorer,
        recorded=recorded,
    )


def decide_stored_row(
    stored: StoredTransaction,
    *,
    store: FeatureStore,
    policy: Policy,
    scorer: Scorer,
    recorded: Mapping[str, FeatureValue] | None = None,
) -> DecisionResult:
    """:func:`decide_stored` for a transaction read as a row (``stored_from_row``): what a
    backtest of many decisions reads, without a model instance per transaction."""
    return decide(
        stored.facts,
        ref=stored.facts.transaction_id,
        scope=stored.scope,
        store=store,
        policy=policy,
        scorer=scorer,
        recorded=recorded,
    )


def _recorded_cold_as_of(txn: Transaction) -> float | None:
    try:
        as_of = txn.decision.cold_as_of
    except Decision.DoesNotExist:
        return None
    return None if as_of is None else as_of.timestamp()


def cold_history_load(
    *, since: datetime | None = None, until: datetime | None = None
) -> ColdHistory:
    """The stored transactions that occurred in [since, until) and the labels on them reported
    before ``until``, indexed for cold values."""
    txns = Transaction.objects.all()
    labels = LabelEvent.objects.all()
    if since is not None:
        txns = txns.filter(occurred_at__gte=since)
        labels = labels.filter(transaction__occurred_at__gte=since)
    if until is not None:
        txns = txns.filter(occurred_at__lt=until)
        labels = labels.filter(transaction__occurred_at__lt=until, reported_at__lt=until)
    return ColdHistory(*cold_rows(txns, labels))


def cold_rows(
    txns: QuerySet[Transaction], labels: QuerySet[LabelEvent]
) -> tuple[Iterator[ScopedEvent], Iterator[ColdLabel]]:
    """Stored transactions and labels as cold history takes them (every reader of cold values
    from the database converts rows here)."""
    label_rows = labels.values_list(
        "transaction__integrator_id", "transaction__transaction_id", "label", "reported_at"
    )
    return (
        (ScopedEvent(stored.scope, stored.event()) for stored in stored_transactions(txns)),
        (
            ColdLabel(str(scope), ref, label == Label.FRAUD, reported_at.timestamp())
            for scope, ref, label, reported_at in label_rows.iterator(chunk_size=5000)
        ),
    )


def store_warm(store: FeatureStore) -> int:
    """Record every stored transaction, in time order, into an empty in-process store.

    The embedded default keeps features in the server's memory; warming it from the database
    gives live decisions the same history a training replay sees. Rows are read as tuples
    (no model instances): this runs before the server answers its first request.
    """
    count = 0
    for stored in stored_transactions(Transaction.objects.order_by("occurred_at", "pk")):
        store.observe(stored.event(), scope=stored.scope)
        count += 1
    return count
