"""Champion against challenger on the live decisions both scored (a selector: reads only).

While a challenger is in shadow a worker stores its score of each live decision
(:class:`~scoring.models.ShadowScore`); for a decision the challenger decided as a canary, the
stored shadow score is the champion's. Either way each such decision gives a pair of scores,
read here with its label as of ``moment`` (``scoring.label_reads``, the one definition), its
amount and each model's outcome under the decision's own rules and thresholds. The figures
are ``scoring.compare_metrics``' on the labelled pairs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Q

from rules.loader import current_policy
from rules.policy import Outcome
from scoring.compare_metrics import ModelMeasures, model_measures
from scoring.label_reads import labels_as_of
from scoring.models import Label, ModelStatus, ModelVersion, ShadowScore, Transaction

# The page lists at most this many changed decisions (the newest).
CHANGED_SHOWN = 200


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


@dataclass(frozen=True)
class Comparison:
    """What the comparison page shows. ``empty`` says why there are no figures (None: there
    are); the changed decisions are listed whenever there are pairs, labelled or not."""

    champion: ModelVersion | None
    challenger: ModelVersion | None
    empty: str | None
    pairs: int = 0
    labelled: int = 0
    fraud: int = 0
    review_rate: float | None = None  # the champion's share of reviews and declines
    champion_measures: ModelMeasures | None = None
    challenger_measures: ModelMeasures | None = None
    changed: list[ScorePair] = field(default_factory=list)  # newest first, CHANGED_SHOWN
    changed_total: int = 0


def _no_labels_yet(pairs: int) -> str:
    return (
        f"None of the {pairs} decisions scored in shadow has a label yet: a label comes from a "
        "chargeback, an analyst's verdict or an integrator's report, or after "
        f"{settings.LABEL_MATURITY_DAYS} days without one (legit by maturity)."
    )


def comparison_build(*, moment: datetime) -> Comparison:
    """The champion against the challenger in shadow, on labels as of ``moment``."""
    champion = ModelVersion.objects.filter(status=ModelStatus.CHAMPION).first()
    challenger = ModelVersion.objects.filter(status=ModelStatus.SHADOW).first()
    if champion is None:
        return Comparison(champion, challenger, "No champion: no model decides yet.")
    if challenger is None:
        return Comparison(
            champion, None, "No challenger is in shadow: there is nothing to compare with."
        )
    pairs = shadow_pairs(champion=champion, challenger=challenger, moment=moment)
    if not pairs:
        return Comparison(
            champion, challenger,
            f"{challenger.name} has not scored a live decision yet (a worker scores each "
            "decision in shadow after it is stored).",
        )  # fmt: skip
    changed = [pair for pair in pairs if pair.changed]
    base = Comparison(
        champion, challenger, None, pairs=len(pairs),
        changed=changed[::-1][:CHANGED_SHOWN], changed_total=len(changed),
    )  # fmt: skip
    labelled = [pair for pair in pairs if pair.label is not None]
    if not labelled:
        return replace(base, empty=_no_labels_yet(len(pairs)))
    return replace(base, **_measured(labelled))


def _measured(labelled: list[ScorePair]) -> dict[str, Any]:
    y = np.array([pair.label == Label.FRAUD for pair in labelled], dtype=np.int8)
    decline_at = np.array([pair.decline_at for pair in labelled])
    review_rate = float(np.mean([p.champion_outcome != Outcome.APPROVE for p in labelled]))

    def measures(scores: list[float]) -> ModelMeasures:
        return model_measures(y, np.array(scores), review_rate=review_rate, decline_at=decline_at)

    return {
        "labelled": len(labelled),
        "fraud": int(y.sum()),
        "review_rate": review_rate,
        "champion_measures": measures([p.champion_score for p in labelled]),
        "challenger_measures": measures([p.challenger_score for p in labelled]),
    }
