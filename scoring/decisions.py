"""How a decision is made and stored.

``decision_create`` is the one way a decision is made and stored. Idempotency rests on the
database: (integrator, transaction_id) is unique, so of concurrent duplicates exactly one insert
wins and the others return its decision.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from cases import opening as case_opening
from rules.loader import current_policy
from scoring import metrics, serving
from scoring.cold_lookup import PointInTimeCold
from scoring.decision_insert import decision_rows_insert
from scoring.errors import IdempotencyConflict
from scoring.explain_later import (
    BATCH_LIMIT,
    PendingExplanation,
    approvals_explain,
    explain_later,
)
from scoring.features.definitions import FEATURE_SET_VERSION
from scoring.features.event import Event
from scoring.features.store import SEEN_TTL_MS, FeatureStore, RefConflict
from scoring.models import Decision, Integrator, Transaction
from scoring.pipeline import DecisionResult, decide
from scoring.records import (
    ListHitRecord,
    RuleFiredRecord,
    ShadowRuleRecord,
    ThresholdsRecord,
    reason_records,
)
from scoring.selectors import decision_for_transaction
from scoring.serializers import MAX_FUTURE
from scoring.transaction import DecisionRequest
from scoring.transaction_rows import transaction_row

logger = logging.getLogger(__name__)

# The store remembers a ref for SEEN_TTL after it was observed, and a transaction may be
# observed up to MAX_FUTURE before it occurs: an occurred_at older than this may be a retry
# the store forgot, and is looked up first (else it would be counted again).
RETRIES_REMEMBERED = timedelta(milliseconds=SEEN_TTL_MS) - MAX_FUTURE - timedelta(hours=1)


@dataclass(frozen=True)
class DecisionCreated:
    decision: Decision
    replayed: bool


def decision_create(
    *, integrator: Integrator, request: DecisionRequest, started: float | None = None
) -> DecisionCreated:
    """Decide a transaction and store it with its decision, or return the stored decision.

    Raises :class:`IdempotencyConflict` when the transaction id was decided with another body.
    """
    started = time.perf_counter() if started is None else started
    fingerprint = request.fingerprint()
    # No look-up first: a first attempt (nearly every request) would pay a query for nothing.
    # A retry is recognised by the unique constraint on insert; the feature store already
    # recognised it by its ref and counted it once. The store remembers refs for SEEN_TTL:
    # a transaction older than that may be a retry it forgot, so look it up first.
    if request.facts.occurred_at < timezone.now() - RETRIES_REMEMBERED:
        existing = decision_for_transaction(
            integrator=integrator, transaction_id=request.facts.transaction_id
        )
        if existing is not None:
            return _replay(existing, fingerprint)
    ref, scope = request.facts.transaction_id, str(integrator.pk)
    # A back-filled transaction reads the cold values of its own period (cold_lookup.py).
    store = PointInTimeCold(
        serving.decision_store(),
        serving.stored_cold(),
        period=settings.COLD_FEATURES_PERIOD_SECONDS,
    )
    try:
        result = decide(
            request.facts,
            ref=ref,
            scope=scope,
            store=store,
            policy=current_policy(),
            scorer=serving.deciding_scorer(scope=scope, transaction_id=ref),
            fingerprint=fingerprint,
        )
    except RefConflict:
        # The store saw this id with another body: refused before anything was counted.
        raise IdempotencyConflict(request.facts.transaction_id) from None
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    with _forgotten_unless_stored(store, request.facts.event(ref), scope, result.observed):
        try:
            with transaction.atomic():
                decision = _store(integrator, request, fingerprint, result, latency_ms)
        except IntegrityError:
            # A retry, or a concurrent duplicate that won the insert: answer with its decision.
            winner = decision_for_transaction(
                integrator=integrator, transaction_id=request.facts.transaction_id
            )
            if winner is None:
                raise
            return _replay(winner, fingerprint)
    metrics.decision_observed(decision.outcome, latency_ms, degraded=decision.degraded)
    if decision.reasons_pending:
        _explain_after_commit(decision, request)
    return DecisionCreated(decision, replayed=False)


def _explain_after_commit(decision: Decision, request: DecisionRequest) -> None:
    """Queue an approval's explanation once it is committed, from what it decided on (unless
    the Celery worker explains approvals: ``EXPLAIN_APPROVALS_ON_WORKER``)."""
    if settings.EXPLAIN_APPROVALS_ON_WORKER:
        return
    pending = PendingExplanation(
        decision_id=decision.pk,
        model_version=decision.model_version,
        features=decision.features,
        facts=request.facts,
        reasons=decision.reasons,
    )
    transaction.on_commit(lambda: explain_later(pending))


@contextmanager
def _forgotten_unless_stored(
    store: FeatureStore, event: Event, scope: str, observed: bool
) -> Iterator[None]:
    """Take the transaction back out of the feature store if storing it fails, for any reason.

    Otherwise a transaction that was never stored (the database refused it or was down) would
    still count in later decisions. Only a call that recorded it forgets it. A forget that
    fails itself is logged; the error that matters is the one re-raised.
    """
    try:
        yield
    except BaseException:  # a worker being stopped mid-store has not stored it either
        if observed:
            try:
                store.forget(event, scope=scope)
            except Exception:
                logger.exception("transaction %s: the feature store did not forget it", event.ref)
        raise


def _replay(decision: Decision, fingerprint: str) -> DecisionCreated:
    if decision.transaction.request_hash != fingerprint:
        raise IdempotencyConflict(decision.transaction.transaction_id)
    return DecisionCreated(decision, replayed=True)


def _store(
    integrator: Integrator,
    request: DecisionRequest,
    fingerprint: str,
    result: DecisionResult,
    latency_ms: float,
) -> Decision:
    txn = transaction_row(integrator, request, fingerprint)
    decision = decision_row(txn, result, latency_ms)
    decision_rows_insert(txn, decision)
    if result.needs_case:
        case_opening.case_open_for_decision(decision=decision)
    return decision


def decision_row(txn: Transaction, result: DecisionResult, latency_ms: float) -> Decision:
    """The (unsaved) row that records a decision and everything that produced it."""
    return Decision(
        transaction=txn,
        outcome=result.outcome,
        score=result.score,
        reasons=reason_records(result.reasons),
        rules=[
            RuleFiredRecord(
                rule=h.name, version=h.version, action=str(h.action), expression=h.expression
            )
            for h in result.rule_hits
        ],
        rule_errors=list(result.rule_errors),
        # Shadow errors are not stored: ``rule_errors`` is shown to the integrator.
        shadow_rules=[
            ShadowRuleRecord(name=h.name, version=h.version, action=str(h.action))
            for h in result.shadow_rule_hits
        ],
        list_hits=[cast(ListHitRecord, asdict(hit)) for hit in result.list_hits],
        features=result.features,
        feature_set_version=FEATURE_SET_VERSION,
        rules_outcome=result.rules_outcome,
        thresholds=cast(ThresholdsRecord, asdict(result.thresholds)),
        policy_revision=result.policy_revision,
        model_version=result.model_version,
        degraded=result.degraded,
        reasons_pending=result.reasons_pending,
        cold_as_of=(
            None if result.cold_as_of is None else datetime.fromtimestamp(result.cold_as_of, UTC)
        ),
        latency_ms=latency_ms,
        timings_ms=dict(result.timings_ms),
    )


def decision_explain(*, decision_id: uuid.UUID) -> bool:
    """Add the model's reasons to a decision stored without them (an approval), read back
    from the database. Returns whether this call explained it (False: already explained, or
    no such decision)."""
    decision = (
        Decision.objects.select_related("transaction")
        .filter(pk=decision_id, reasons_pending=True)
        .first()
    )
    if decision is None:
        return False
    return approvals_explain([PendingExplanation.of_stored(decision)]) == 1


def decisions_explain_pending(*, older_than_seconds: float = 30.0, limit: int = 1000) -> int:
    """Explain approvals still pending, oldest first, up to ``limit``, ``BATCH_LIMIT`` in one
    read and one write: those whose explanation after commit did not happen (a worker died),
    or, with ``EXPLAIN_APPROVALS_ON_WORKER``, all of them (``older_than_seconds`` 0).

    A decision that cannot be explained at all (a row that no longer reads back) is logged
    and left unexplained, so that it cannot stop the sweep or stay at the head of its queue.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = Decision.objects.filter(reasons_pending=True, created_at__lt=cutoff).order_by(
        "created_at"
    )
    ids = list(pending.values_list("pk", flat=True)[:limit])
    explained = 0
    for start in range(0, len(ids), BATCH_LIMIT):
        batch = ids[start : start + BATCH_LIMIT]
        try:
            items = [
                PendingExplanation.of_stored(decision)
                for decision in Decision.objects.select_related("transaction").filter(
                    pk__in=batch, reasons_pending=True
                )
            ]
        except (ValueError, OverflowError, DataError):
            # One of them does not read back: one at a time, so that the others are explained.
            explained += sum(_explain_or_give_up(decision_id) for decision_id in batch)
            continue
        explained += approvals_explain(items)
    return explained


def approvals_explain_drain(*, seconds: float = 30.0) -> int:
    """The worker's share with ``EXPLAIN_APPROVALS_ON_WORKER``: explain every pending approval,
    batch after batch, until none is left or ``seconds`` have passed (the next run goes on
    from there). Returns how many it explained."""
    deadline = time.monotonic() + seconds
    total = 0
    while time.monotonic() < deadline:
        explained = decisions_explain_pending(older_than_seconds=0, limit=BATCH_LIMIT)
        total += explained
        if explained < BATCH_LIMIT:
            break
    return total


def _explain_or_give_up(decision_id: uuid.UUID) -> bool:
    try:
        return decision_explain(decision_id=decision_id)
    except (ValueError, OverflowError, DataError):  # the row does not read back
        logger.exception("decision %s cannot be explained; the sweep skips it", decision_id)
        Decision.objects.filter(pk=decision_id).update(reasons_pending=False)
        return False
