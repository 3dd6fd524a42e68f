"""What shadow scoring stored, read side by side: each live decision one model decided and
the other scored in shadow, with both scores and outcomes and its label as of a moment (the
comparison page and auto-promotion read it; ``scoring.label_reads`` is the one definition of a
label).

``scoring/shadow.py`` writes the scores. A decision has its decider's score in its own row
and the other model's as a :class:`~scoring.models.ShadowScore`: the challenger's of a
decision the champion made, the champion's of a decision the challenger made as a canary.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from rules.loader import current_policy
from scoring.label_reads import labels_as_of
from scoring.models import ModelVersion, ShadowScore, Transaction


@dataclass(frozen=True)
class ScorePair:
    """One live decision scored by both models."""

    decision_id: uuid.UUID
    transaction_id: str
    occurred_at: datetime
    amount: float
    champion_score: float
    challenger_score: float
    champion_outcome: str
    challenger_outcome: str
    decline_at: float  # the decline threshold the decision was made under
    label: str | None  # "fraud", "legit", or None: not known yet
    case_id: int | None

    @property
    def changed(self) -> bool:
        return self.champion_outcome != self.challenger_outcome


_FIELDS = (
    "decision_id", "decision__transaction_id", "decision__transaction__transaction_id",
    "decision__transaction__occurred_at", "decision__transaction__amount", "decision__score",
    "score", "decision__outcome", "outcome", "decision__thresholds", "decision__case__id",
)  # fmt: skip


def shadow_pairs(
    *, champion: ModelVersion, challenger: ModelVersion, moment: datetime
) -> list[ScorePair]:
    """Every decision one of the two models decided and the other scored in shadow, oldest
    first (a degraded decision, with no score of the decider, is left out)."""
    shadowed = ShadowScore.objects.filter(
        Q(model_version=challenger, decision__model_version=champion.name)
        | Q(model_version=champion, decision__model_version=challenger.name),
        decision__score__isnull=False,
    )
    labels = labels_as_of(
        transactions=Transaction.objects.filter(decision__shadow_scores__in=shadowed).distinct(),
        moment=moment,
    )
    default_decline = current_policy().thresholds.decline
    rows = shadowed.order_by("decision__transaction__occurred_at", "decision_id")
    return [
        _pair(row[1:], champion_decided=row[0] == challenger.pk, labels=labels,
              default_decline=default_decline)
        for row in rows.values_list("model_version_id", *_FIELDS).iterator(chunk_size=5000)
    ]  # fmt: skip


def _pair(
    row: tuple[Any, ...], *, champion_decided: bool, labels: dict[int, str], default_decline: float
) -> ScorePair:
    (decision_id, txn_pk, txn_id, occurred_at, amount, decided_score, shadow_score,
     decided_outcome, shadow_outcome, thresholds, case_id) = row  # fmt: skip
    if champion_decided:  # and the challenger scored in shadow
        scores = (decided_score, shadow_score)
        outcomes = (decided_outcome, shadow_outcome)
    else:  # the challenger decided, as a canary
        scores = (shadow_score, decided_score)
        outcomes = (shadow_outcome, decided_outcome)
    return ScorePair(
        decision_id=decision_id, transaction_id=txn_id, occurred_at=occurred_at,
        amount=float(amount), champion_score=float(scores[0]), challenger_score=float(scores[1]),
        champion_outcome=outcomes[0], challenger_outcome=outcomes[1],
        decline_at=float((thresholds or {}).get("decline", default_decline)),
        label=labels.get(txn_pk), case_id=case_id,
    )  # fmt: skip
