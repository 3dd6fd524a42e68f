"""The shapes of a stored decision's JSON fields (``scoring.models.Decision``), by name.

``scoring.decisions.decision_row`` writes them from a :class:`scoring.pipeline.DecisionResult`;
readers (the case page, backtests, drift) get them typed from the model's fields. The keys
are the stored JSON's: renaming one is a data migration, not a refactor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from scoring.pipeline import Reason


class ReasonRecord(TypedDict):
    """Why a decision went the way it did (``scoring.pipeline.Reason``)."""

    code: str
    text: str
    # How much the model's score owes to it (SHAP); None for a list or rule reason.
    contribution: float | None


def reason_records(reasons: Iterable[Reason]) -> list[ReasonRecord]:
    """Reasons as stored; the record's keys are the dataclass's fields
    (tests/scoring/test_records.py)."""
    return [ReasonRecord(code=r.code, text=r.text, contribution=r.contribution) for r in reasons]


class RuleFiredRecord(TypedDict):
    """A rule that fired, as it was when it fired."""

    rule: str
    version: int
    action: str
    expression: str


class ShadowRuleRecord(TypedDict):
    """A rule that fired in shadow (a shadow rule, or a rollout outside its share): recorded,
    acted on nothing. ``expression`` is the rule version's (``rules.models.RuleVersion``)."""

    name: str
    version: int
    action: str


class ListHitRecord(TypedDict):
    """An allow- or block-list entry the transaction matched (``rules.policy.ListHit``)."""

    list_type: str
    entity: str
    entry_id: int


class ThresholdsRecord(TypedDict):
    """The score cut-offs in force (``rules.policy.Thresholds``)."""

    review: float
    decline: float


# Feature name → value (None: missing), exactly what the model and the rules saw.
FeaturesRecord = dict[str, float | None]
# Pipeline stage → milliseconds it took.
TimingsRecord = dict[str, float]
