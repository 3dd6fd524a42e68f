"""Celery tasks of the scoring app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from scoring import serving
from scoring.cold_refresh import cold_features_refresh
from scoring.decisions import decisions_explain_pending
from scoring.drift import drift_check
from scoring.shadow import shadow_scores_drain


@shared_task
def cold_features_refresh_task() -> str:
    refreshed = cold_features_refresh(store=serving.feature_store())
    if refreshed.skipped:
        return f"generation {refreshed.as_of.isoformat()} already published"
    return f"published {refreshed.entries} entries as of {refreshed.as_of.isoformat()}"


@shared_task
def drift_check_task() -> list[str]:
    """What shifted since the reference week (also stored as a DriftReport)."""
    shifted: list[str] = drift_check().shifted
    return shifted


@shared_task
def decisions_explain_pending_task() -> int:
    """Explain approvals whose after-commit explanation was lost (a worker died)."""
    return decisions_explain_pending()


@shared_task
def shadow_scores_fill_task() -> int:
    """Score what the challenger in shadow has not scored yet, batch after batch (beat runs it
    every SHADOW_SCORE_SECONDS; nothing is queued per decision). How many were scored."""
    return shadow_scores_drain(batch=settings.SHADOW_SCORE_BATCH)
