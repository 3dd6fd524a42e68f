"""A model's recommended thresholds, and proposing them (``threshold_choice`` is the math).

Applying is an ordinary threshold change: it is proposed in the user's policy draft
(``rules.drafts.draft_thresholds_propose``) and is in force once someone else backtests and
publishes it, like any threshold edit; the audit log records who proposed which model's
recommendation under which costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from fraudops.audit.services import audit_record
from rules.drafts import draft_reason_set, draft_thresholds_propose
from rules.models import PolicyDraft, ScoreThresholds
from rules.selectors import drafts_proposing_thresholds, thresholds_stored
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
    proposed_in: list[PolicyDraft]  # open drafts that propose the recommendation already

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
        return ThresholdAdvice(costs, thresholds_stored(), None, str(exc), [])
    proposed_in = drafts_proposing_thresholds(
        review_at=recommendation.review_at, decline_at=recommendation.decline_at
    )
    return ThresholdAdvice(costs, thresholds_stored(), recommendation, None, proposed_in)


@dataclass(frozen=True)
class Proposed:
    recommendation: Recommendation
    draft: PolicyDraft


@transaction.atomic
def thresholds_propose_recommended(*, version: ModelVersion, user: Any) -> Proposed:
    """Propose ``version``'s recommendation under the stored costs (computed again here,
    never taken from the request) in ``user``'s draft. Raises NoRecommendation when there is
    none, ValidationError when the draft refuses it."""
    costs = threshold_costs_stored()
    recommendation = thresholds_recommend(version=version, costs=costs.as_costs())
    in_force = thresholds_stored()
    draft = draft_thresholds_propose(
        user=user, review_at=recommendation.review_at, decline_at=recommendation.decline_at
    )
    why = f"Thresholds recommended for {version.name} ({costs})"
    if why not in draft.reason:  # the draft's "Why", kept with its publish
        draft = draft_reason_set(draft=draft, reason=f"{draft.reason}\n{why}".strip())
    audit_record(
        actor=user,
        action="thresholds.propose_recommended",
        target=draft,
        reason=f"recommended for {version.name} ({costs})",
        changes={
            "review_at": [in_force.review_at, recommendation.review_at],
            "decline_at": [in_force.decline_at, recommendation.decline_at],
        },
    )
    return Proposed(recommendation, draft)
