"""The walk from the model's base rate to a decision's score, for the case page.

The decision stores only its top reasons' contributions, not the model's base rate nor the
rest: the model that scored it (``scorer_for``: the one this process holds, or that version
loaded again) is asked again for the full explanation of the stored features. That is only
honest when it gives the stored score back; when it does not, or the model cannot be loaded,
there is no walk and ``note`` says why (the page then charts the stored contributions alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.models import Decision
from scoring.scorer import ExplainsFromBase, ScorerError
from scoring.serving import scorer_for
from scoring.waterfall import Waterfall, waterfall

# The recomputed score may differ from the stored one by float noise only.
SAME_SCORE = 1e-6


@dataclass(frozen=True)
class ScoreWalk:
    walk: Waterfall | None
    contributions: dict[str, float]  # every feature's, when the model could be asked
    note: str


def decision_score_walk(*, decision: Decision) -> ScoreWalk:
    version, score = decision.model_version, decision.score
    if version is None or score is None:
        return ScoreWalk(None, {}, "")
    scorer = scorer_for(version)
    if not isinstance(scorer, ExplainsFromBase) or scorer.version != version:
        return ScoreWalk(None, {}, f"The model {version} cannot be asked for its base rate here.")
    try:
        explained = scorer.explanation(decision.features)
    except ScorerError as exc:
        return ScoreWalk(None, {}, f"The model {version} could not explain again: {exc}")
    contributions = dict(explained.contributions)
    if abs(explained.probability - score) > SAME_SCORE:
        return ScoreWalk(
            None,
            contributions,
            f"The model {version} now gives {explained.probability:.4f}, not the stored "
            f"{score:.4f}: no walk is drawn from it.",
        )
    walk = waterfall(
        base=explained.base,
        contributions=contributions,
        features=decision.features,
        score=score,
    )
    return ScoreWalk(walk, contributions, "")
