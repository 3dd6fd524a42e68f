"""Celery tasks of the scoring app: thin, each calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scoring import serving
from scoring.cold_refresh import cold_features_refresh
from scoring.decisions import approvals_explain_drain, decisions_explain_pending
from scoring.drift import drift_check
from scoring.retraining import model_retrain, retrain_due, shadow_evaluate
from scoring.shadow import shadow_scores_drain
from scoring.training.dataset import NotEnoughLabels

logger = logging.getLogger(__name__)


@shared_task
def cold_features_refresh_task() -> str:
    refreshed = cold_features_refresh(store=serving.feature_store())
    if refreshed.skipped:
        return f"generation {refreshed.as_of.isoformat()} already published"
    return f"published {refreshed.entries} entries as of {refreshed.as_of.isoformat()}"


@shared_task
def drift_check_task() -> list[str]:
    """What shifted since the reference week (also stored as a DriftReport); an alert queues
    an early retrain when RETRAIN_ON_DRIFT is on."""
    report = drift_check()
    if report.alerts and settings.RETRAIN_ON_DRIFT:
        retrain_queue(reason=f"early: drift in {', '.join(report.alerts)}")
    shifted: list[str] = report.shifted
    return shifted


@shared_task
def decisions_explain_pending_task() -> int:
    """Explain every pending approval (``EXPLAIN_APPROVALS_ON_WORKER``), or else those whose
    explanation after commit was lost (a server's worker died)."""
    if settings.EXPLAIN_APPROVALS_ON_WORKER:
        return approvals_explain_drain()
    return decisions_explain_pending()


# A failed training (the database went away, a full disk) is tried again with growing pauses;
# too few labels is not a failure (caught below) and is not retried.
@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=4,
)
def model_retrain_task(reason: str) -> str:
    try:
        retrained = model_retrain(now=timezone.now(), reason=reason)
    except NotEnoughLabels as exc:
        return f"not retrained ({reason}): {exc}"
    return f"{retrained.challenger.name} in shadow ({reason})"


def retrain_queue(*, reason: str) -> None:
    """Queue a retrain once the caller's transaction commits."""
    transaction.on_commit(lambda: _retrain_send(reason))


def _retrain_send(reason: str) -> None:
    if not model_retrain_task.app.conf.task_always_eager:
        model_retrain_task.delay(reason)
        return
    # Inline (the embedded default, eager Celery): a failed training, retried inline, must not
    # reach the caller whose transaction just committed.
    try:
        model_retrain_task.apply(args=(reason,), throw=False)
    except Exception:
        logger.exception("retrain (%s) failed", reason)


@shared_task
def retrain_check_task() -> str | None:
    """Queue a retrain if one is due (beat, hourly); returns why, or None."""
    reason = retrain_due(now=timezone.now())
    if reason is not None:
        retrain_queue(reason=reason)
    return reason


@shared_task
def shadow_evaluate_task() -> str | None:
    evaluation = shadow_evaluate(now=timezone.now())
    if evaluation is None:
        return None
    return f"{evaluation.challenger.name}: {evaluation.why}"


@shared_task
def shadow_scores_fill_task() -> int:
    """Score what the challenger in shadow has not scored yet, batch after batch (beat runs it
    every SHADOW_SCORE_SECONDS; nothing is queued per decision). How many were scored."""
    return shadow_scores_drain(batch=settings.SHADOW_SCORE_BATCH)
