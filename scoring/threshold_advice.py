"""A model's recommended thresholds, and applying them (``threshold_choice`` is the math).

Applying is an ordinary threshold change: ``rules.services.thresholds_set`` (the policy's one
way to change thresholds, so whatever review that gets applies here too), recorded in the
audit log with who applied which model's recommendation under which costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from fraudops.audit.services import audit_record
from rules.models import ScoreThresholds
from rules.selectors import thresholds_stored
from rules.services import thresholds_set
from scoring.models import ModelVersion, ThresholdCosts
from scoring.threshold_choice import NoRecommendation, Recommendation, thresholds_recommend


def threshold_costs_stored() -> ThresholdCosts:
    """The costs an admin set; the defaults (unsaved) before anyone did."""
    return ThresholdCosts.objects.filter(pk=1).first() or ThresholdCosts()


@dataclass(frozen=True)
class ThresholdAdvice:
    """What the model page shows: the recommendation, or why there is none."""

    costs: ThresholdCosts
    in_force: ScoreThresholds
    recommendation: Recommendation | None
    why_not: str | None

    @property
    def differs(self) -> bool:
        """The recommendation is not what is in force already."""
        r = self.recommendation
        return r is not None and (r.review_at, r.decline_at) != (
            self.in_force.review_at,
            self.in_force.decline_at,
        )


def threshold_advice(*, version: ModelVersion) -> ThresholdAdvice:
    costs = threshold_costs_stored()
    try:
        recommendation = thresholds_recommend(version=version, costs=costs.as_costs())
    except NoRecommendation as exc:
        return ThresholdAdvice(costs, thresholds_stored(), None, str(exc))
    return ThresholdAdvice(costs, thresholds_stored(), recommendation, None)


@transaction.atomic
def thresholds_apply_recommended(*, version: ModelVersion, user: Any) -> Recommendation:
    """Put ``version``'s recommendation under the stored costs in force (computed again here,
    never taken from the request). Raises NoRecommendation when there is none."""
    costs = threshold_costs_stored()
    recommendation = thresholds_recommend(version=version, costs=costs.as_costs())
    before = thresholds_stored()
    changed = thresholds_set(
        review_at=recommendation.review_at, decline_at=recommendation.decline_at
    )
    audit_record(
        actor=user,
        action="thresholds.apply_recommended",
        target=changed,
        reason=f"recommended for {version.name} ({costs})",
        changes={
            "review_at": [before.review_at, changed.review_at],
            "decline_at": [before.decline_at, changed.decline_at],
        },
    )
    return recommendation
