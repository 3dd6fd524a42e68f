"""Reads of the policy that the admin pages need (the loader builds the policy in force)."""

from __future__ import annotations

from rules.models import Rule, ScoreThresholds


def rule_find(*, rule_id: int | str) -> Rule | None:
    return Rule.objects.filter(pk=rule_id).first()


def thresholds_stored() -> ScoreThresholds:
    """The stored thresholds; the defaults (unsaved) before anyone set them."""
    return ScoreThresholds.objects.filter(pk=1).first() or ScoreThresholds()
