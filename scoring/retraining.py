"""The learning loop's services: when a retrain is due, training a challenger on a rolling
window and measuring it against the champion, and judging it in shadow.

1. :func:`retrain_due` says why a retrain is due now, if it is: RETRAIN_EVERY_DAYS since the
   newest model version was created, or earlier once RETRAIN_MIN_NEW_LABELS labels arrived
   since then, or (RETRAIN_ON_DRIFT) a drift check since then raised an alert.
2. :func:`model_retrain` trains a challenger on the matured decisions of the last
   RETRAIN_WINDOW_DAYS (``training.train.model_train``), scores the champion on the
   challenger's own validation window from the features those decisions logged, stores both
   sets of metrics on the challenger, and puts it in shadow (a challenger already in shadow is
   rejected: superseded).
3. :func:`shadow_evaluate` compares champion and challenger on the shadow decisions labelled so
   far (``label_reads``: one definition of a label) and, with AUTO_PROMOTE on, promotes the
   challenger once it clears the bar (``model_metrics.promotion_verdict``).

Every time here is the one given (``now``) or a stored ``created_at``: a model's place in the
schedule is when it was registered, not the simulated dates it was trained on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from scoring import lifecycle
from scoring.lgbm import ModelLoadError
from scoring.model_metrics import (
    Comparison,
    PromotionBar,
    compare,
    promotion_verdict,
    score_metrics,
)
from scoring.models import (
    DriftReport,
    Label,
    LabelEvent,
    ModelStatus,
    ModelVersion,
)
from scoring.serving import version_scorer
from scoring.shadow_reads import shadow_pairs
from scoring.training.dataset import Dataset, Progress
from scoring.training.train import model_train, scores_of

logger = logging.getLogger(__name__)


def _newest_version() -> ModelVersion | None:
    return ModelVersion.objects.order_by("-created_at", "-pk").first()


def retrain_due(*, now: datetime) -> str | None:
    """Why a retrain is due at ``now``, or None. The newest version (whatever its status: a
    rejected challenger was a retrain too) starts the clock; with none, the first model is due.
    """
    newest = _newest_version()
    if newest is None:
        return "no model has been trained yet"
    since = newest.created_at
    if now - since >= timedelta(days=settings.RETRAIN_EVERY_DAYS):
        return f"scheduled: {settings.RETRAIN_EVERY_DAYS} days since {newest.name}"
    new_labels = LabelEvent.objects.filter(created_at__gt=since, created_at__lte=now).count()
    if new_labels >= settings.RETRAIN_MIN_NEW_LABELS:
        return f"early: {new_labels} new labels since {newest.name}"
    if settings.RETRAIN_ON_DRIFT:
        drifted = (
            DriftReport.objects.filter(created_at__gt=since, created_at__lte=now)
            .exclude(alerts=[])
            .order_by("-created_at")
            .first()
        )
        if drifted is not None:
            return f"early: drift in {', '.join(drifted.alerts)} since {newest.name}"
    return None


@dataclass(frozen=True)
class Retrained:
    challenger: ModelVersion
    champion: ModelVersion | None
    superseded: ModelVersion | None  # the previous challenger in shadow, now rejected


def model_retrain(
    *,
    now: datetime,
    reason: str,
    window_days: int | None = None,
    seed: int = 7,
    progress: Progress | None = None,
) -> Retrained:
    """Train a challenger on the matured decisions of the ``window_days`` (default
    RETRAIN_WINDOW_DAYS) before ``now``, measure the champion on the challenger's validation
    window, and put the challenger in shadow.

    Raises ``training.dataset.NotEnoughLabels`` when the window is too thin to train on.
    """
    days = settings.RETRAIN_WINDOW_DAYS if window_days is None else window_days
    since = now - timedelta(days=days)
    trained = model_train(seed=seed, progress=progress, now=now, since=since)
    challenger, holdout = trained.version, trained.holdout
    assert holdout is not None  # model_train always measures on a holdout
    champion = ModelVersion.objects.champion()
    challenger.metrics = {
        **challenger.metrics,
        "retrain": {"reason": reason, "window_days": days, "since": since.isoformat()},
        "champion_on_holdout": _champion_on(holdout, champion),
        "top_features": _top(challenger),
    }
    with transaction.atomic():
        superseded = ModelVersion.objects.filter(status=ModelStatus.SHADOW).first()
        challenger.save(update_fields=["metrics"])
        # A shadow in place is rejected as superseded (one shadow at a time), audit-logged.
        challenger = lifecycle.model_shadow_start(
            version=challenger, actor=None, reason=f"retrain: {reason}"
        )
    logger.warning("retrain (%s): %s is in shadow", reason, challenger.name)
    return Retrained(challenger, champion, superseded)


def _champion_on(holdout: Dataset, champion: ModelVersion | None) -> dict[str, Any]:
    """The champion's metrics on ``holdout``, the same rows the challenger was measured on."""
    if champion is None:
        return {"version": None, "note": "no champion"}
    holdout_from = holdout.occurred_at(0)
    result: dict[str, Any] = {"version": champion.name}
    if champion.trained_until >= holdout_from:
        # Its own training (or calibration) saw some of these rows: its figures flatter it.
        result["note"] = (
            f"the champion was trained on data until {champion.trained_until.isoformat()}, "
            f"which overlaps this holdout (from {holdout_from.isoformat()})"
        )
    try:
        scorer = version_scorer(champion)
        scores = scores_of(scorer, holdout)
    except (ModelLoadError, KeyError, TypeError, ValueError) as exc:
        # ValueError also: it takes a feature this dataset does not have (another feature set)
        result["error"] = f"the champion could not score this holdout: {exc}"
        return result
    metrics = score_metrics(scores, holdout.y)
    result.update(
        rows=len(holdout),
        fraud=int(holdout.y.sum()),
        average_precision=metrics.average_precision,
        auc_roc=metrics.auc_roc,
        brier=metrics.brier,
        calibration_error=metrics.calibration_error,
    )
    return result


def _top(version: ModelVersion, n: int = 10) -> list[str]:
    gains = version_scorer(version).importances()
    return sorted(gains, key=lambda name: -gains[name])[:n]


def _to_champion(version: ModelVersion, reason: str) -> None:
    lifecycle.model_promote(version=version, actor=None, reason=reason)


@dataclass(frozen=True)
class ShadowEvaluation:
    challenger: ModelVersion
    champion: ModelVersion
    comparison: Comparison
    promotable: bool
    why: str
    promoted: bool


def shadow_evaluate(*, now: datetime) -> ShadowEvaluation | None:
    """Champion vs the challenger in shadow on the shadow decisions labelled as of ``now``;
    with AUTO_PROMOTE, the challenger is promoted if it clears the bar. None: no challenger
    in shadow, or no champion to compare it with."""
    challenger = ModelVersion.objects.filter(status=ModelStatus.SHADOW).first()
    champion = ModelVersion.objects.champion()
    if challenger is None or champion is None:
        return None
    champion_scores, challenger_scores, y = shadow_window(
        champion=champion, challenger=challenger, now=now
    )
    comparison = compare(champion_scores, challenger_scores, y)
    bar = PromotionBar(
        settings.AUTO_PROMOTE_MARGIN,
        settings.AUTO_PROMOTE_MIN_LABELLED,
        settings.AUTO_PROMOTE_CALIBRATION_SLACK,
    )
    promotable, why = promotion_verdict(comparison, bar)
    promoted = promotable and settings.AUTO_PROMOTE
    if promoted:
        try:
            _to_champion(challenger, f"auto-promoted: {why}")
        except lifecycle.LifecycleError as exc:
            promoted, why = False, f"{why}; not promoted: {exc}"
    with transaction.atomic():
        challenger.metrics = {
            **challenger.metrics,
            "shadow": {
                **comparison.as_json(),
                "champion_version": champion.name,
                "as_of": now.isoformat(),
                "promotable": promotable,
                "why": why,
            },
        }
        challenger.save(update_fields=["metrics"])
    return ShadowEvaluation(challenger, champion, comparison, promotable, why, promoted)


def shadow_window(
    *, champion: ModelVersion, challenger: ModelVersion, now: datetime
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(champion's scores, challenger's scores, labels) of the live decisions both scored and
    whose label is known as of ``now`` (``shadow_reads.shadow_pairs``, the comparison page's
    pairs)."""
    labelled = [
        pair
        for pair in shadow_pairs(champion=champion, challenger=challenger, moment=now)
        if pair.label is not None
    ]
    return (
        np.array([pair.champion_score for pair in labelled], dtype=np.float64),
        np.array([pair.challenger_score for pair in labelled], dtype=np.float64),
        np.array([pair.label == Label.FRAUD for pair in labelled], dtype=np.int8),
    )
