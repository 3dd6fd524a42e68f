"""Reads of the policy that the admin pages need (the loader builds the policy in force)."""

from __future__ import annotations

from rules.models import DraftStatus, PolicyDraft, Rule, ScoreThresholds


def rule_find(*, rule_id: int | str) -> Rule | None:
    return Rule.objects.filter(pk=rule_id).first()


def thresholds_stored() -> ScoreThresholds:
    """The stored thresholds; the defaults (unsaved) before anyone set them."""
    return ScoreThresholds.objects.filter(pk=1).first() or ScoreThresholds()


def drafts_proposing_thresholds(*, review_at: float, decline_at: float) -> list[PolicyDraft]:
    """The unpublished drafts that propose exactly these thresholds, oldest first."""
    wanted = {"review_at": review_at, "decline_at": decline_at}
    return [
        draft
        for draft in PolicyDraft.objects.filter(status=DraftStatus.DRAFT).order_by("pk")
        if (draft.changes or {}).get("thresholds") == wanted
    ]
