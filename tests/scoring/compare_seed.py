"""Builders for the comparison tests: a champion, a challenger in shadow, and live decisions
with both models' scores (made directly: filling shadow scores is another part's work)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cases.opening import case_open_for_decision
from rules.policy import Thresholds
from scoring.models import (
    Decision,
    Integrator,
    LabelEvent,
    ModelStatus,
    ModelVersion,
    ShadowScore,
    Transaction,
)
from scoring.records import ThresholdsRecord

# The shadow window: fixed days in the past, so as of now every label is known by
# construction (reported, or past its 30-day maturity).
SHADOW_DAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
THRESHOLDS = Thresholds(review=0.5, decline=0.9)

_seq = itertools.count(1)


def model(name: str, status: str, **fields: object) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name, path="/nowhere", features=[], calibration={}, status=status,
        trained_from=datetime(2026, 1, 1, tzinfo=UTC),
        trained_until=datetime(2026, 2, 1, tzinfo=UTC), data_hash="0" * 64, **fields,
    )  # fmt: skip


def champion_and_challenger() -> tuple[ModelVersion, ModelVersion]:
    return model("lgbm-champion", ModelStatus.CHAMPION), model(
        "lgbm-challenger", ModelStatus.SHADOW
    )


def shadowed(
    *,
    decided_by: ModelVersion,
    scored_by: ModelVersion,
    decided_score: float | None,
    shadow_score: float,
    label: str | None = None,
    at: datetime = SHADOW_DAY,
    amount: str = "50.00",
    with_case: bool = False,
) -> Decision:
    """A live decision ``decided_by`` made and ``scored_by`` scored in shadow; ``label``
    reported by a chargeback (fraud) or an analyst (legit) a day later."""
    integrator, _ = Integrator.objects.get_or_create(name="acme")
    n = next(_seq)
    txn = Transaction.objects.create(
        integrator=integrator, transaction_id=f"txn-compare-{n}", occurred_at=at,
        amount=Decimal(amount), currency="EUR", customer_id=f"c{n}", merchant_id="m1",
        channel="ecom", request_hash="0" * 64,
    )  # fmt: skip
    outcome = "approve" if decided_score is None else THRESHOLDS.outcome(decided_score)
    decision = Decision.objects.create(
        transaction=txn, outcome=outcome, score=decided_score, policy_revision=1,
        model_version=decided_by.name, latency_ms=5.0,
        thresholds=ThresholdsRecord(review=THRESHOLDS.review, decline=THRESHOLDS.decline),
        degraded=decided_score is None,
    )  # fmt: skip
    ShadowScore.objects.create(
        decision=decision, model_version=scored_by, score=shadow_score,
        outcome=THRESHOLDS.outcome(shadow_score),
    )  # fmt: skip
    if label is not None:
        LabelEvent.objects.create(
            transaction=txn, label=label, source="chargeback" if label == "fraud" else "analyst",
            reported_at=at + timedelta(days=1),
        )  # fmt: skip
    if with_case:
        case_open_for_decision(decision=decision)
    return decision


def labelled_window(champion: ModelVersion, challenger: ModelVersion, *, rows: int = 60) -> None:
    """``rows`` decisions the champion made and the challenger scored: one in ten fraud; the
    challenger ranks them better. A fraud the champion approved opens no case; one the
    challenger would catch is listed as changed."""
    for i in range(rows):
        fraud = i % 10 == 0
        champion_score = 0.55 + i / 1000 if fraud and i % 20 == 0 else 0.05 + (i % 7) / 20
        challenger_score = 0.92 if fraud else 0.02 + (i % 9) / 30
        shadowed(
            decided_by=champion, scored_by=challenger, decided_score=champion_score,
            shadow_score=challenger_score, label="fraud" if fraud else None,
            at=SHADOW_DAY + timedelta(minutes=i), with_case=champion_score >= THRESHOLDS.review,
        )  # fmt: skip
