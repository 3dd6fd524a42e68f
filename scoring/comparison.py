"""Champion against challenger on the live decisions both scored (a selector: reads only).

While a challenger is in shadow a worker stores its score of each live decision
(:class:`~scoring.models.ShadowScore`); for a decision the challenger decided as a canary, the
stored shadow score is the champion's. Either way each such decision gives a pair of scores,
read here with its label as of ``moment`` (``scoring.label_reads``, the one definition), its
amount and each model's outcome under the decision's own rules and thresholds. The figures
are ``scoring.compare_metrics``' on the labelled pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings

from fraudops.audit.models import AuditEntry
from rules.policy import Outcome
from scoring.compare_metrics import ModelMeasures, model_measures
from scoring.models import Label, ModelStatus, ModelVersion
from scoring.shadow_reads import ScorePair, shadow_pairs

# The page lists at most this many changed decisions (the newest).
CHANGED_SHOWN = 200


@dataclass(frozen=True)
class Comparison:
    """What the comparison page shows. ``empty`` says why there are no figures (None: there
    are); the changed decisions are listed whenever there are pairs, labelled or not."""

    champion: ModelVersion | None
    challenger: ModelVersion | None
    empty: str | None
    # With no challenger in shadow: the last shadow window instead, the champion of today
    # (then the challenger) against the one it replaced. ``note`` says so.
    past: bool = False
    note: str = ""
    pairs: int = 0
    labelled: int = 0
    fraud: int = 0
    review_rate: float | None = None  # the champion's share of reviews and declines, labelled
    champion_challenged: float | None = None  # the same share over every pair, labelled or not
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


# What ended the last shadow: the audit log's word for it.
_ENDED_BY = {
    "model.promote": "promoted",
    "model.reject": "rejected",
    "model.rollback": "rolled back to",
}


def _last_decided() -> str:
    """The last promotion, rejection or rollback, with its reason (for a promotion made on
    the figures this page showed, the figures): where the page's last comparison went."""
    entry = (
        AuditEntry.objects.filter(action__in=_ENDED_BY, target_type="scoring.modelversion")
        .order_by("-created_at", "-pk")
        .first()
    )
    if entry is None:
        return ""
    reason = f": {entry.reason}" if entry.reason else ""
    return (
        f" Last change: {entry.actor} {_ENDED_BY[entry.action]} {entry.target_repr} on "
        f"{entry.created_at:%Y-%m-%d %H:%M}{reason}"
    )


def comparison_build(*, moment: datetime) -> Comparison:
    """The champion against the challenger in shadow, on labels as of ``moment``."""
    champion = ModelVersion.objects.champion()
    challenger = ModelVersion.objects.filter(status=ModelStatus.SHADOW).first()
    if champion is None:
        return Comparison(champion, challenger, "No champion: no model decides yet.")
    if challenger is None:
        return _last_window(champion, moment)
    pairs = shadow_pairs(champion=champion, challenger=challenger, moment=moment)
    if not pairs:
        return Comparison(
            champion, challenger,
            f"{challenger.name} has not scored a live decision yet (a worker scores each "
            "decision in shadow after it is stored).",
        )  # fmt: skip
    return _compared(Comparison(champion, challenger, None), pairs)


def _last_window(champion: ModelVersion, moment: datetime) -> Comparison:
    """With no challenger in shadow: the shadow window the champion was promoted on, if it
    was, against the champion it replaced, with the labels known by now (how the promotion
    looks in hindsight)."""
    last = _last_decided()
    previous = ModelVersion.objects.previous_champions().exclude(pk=champion.pk).first()
    pairs = (
        shadow_pairs(champion=previous, challenger=champion, moment=moment)
        if previous is not None
        else []
    )
    if previous is None or not pairs:
        return Comparison(
            champion, None, "No challenger is in shadow: there is nothing to compare with." + last
        )
    note = (
        f"No challenger is in shadow now. Shown: the last shadow window, {champion.name} "
        f"(then the challenger, now the champion) against {previous.name} (then the "
        f"champion, now retired), with the labels known by now.{last}"
    )
    return _compared(Comparison(previous, champion, None, past=True, note=note), pairs)


def _compared(base: Comparison, pairs: list[ScorePair]) -> Comparison:
    changed = [pair for pair in pairs if pair.changed]
    challenged = sum(pair.champion_outcome != Outcome.APPROVE for pair in pairs) / len(pairs)
    base = replace(
        base, pairs=len(pairs), changed=changed[::-1][:CHANGED_SHOWN], changed_total=len(changed),
        champion_challenged=challenged,
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
