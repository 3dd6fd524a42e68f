"""What shadow scoring stored, read side by side: the champion's and the challenger's score of
each decision of a shadow window (the comparison page and auto-promotion read it).

``scoring/shadow.py`` writes the scores. A decision has its decider's score in its own row
and the other model's as a :class:`~scoring.models.ShadowScore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import FilteredRelation, Q

from scoring.models import Decision, ModelStatus, ModelVersion, ShadowScore


@dataclass(frozen=True)
class ShadowPair:
    """One decision of a shadow window, as the champion and the challenger scored it.

    A score and outcome are None where that model has not scored it (yet: the fill runs a
    few seconds behind) or there is no champion. ``decided_by`` is the version that decided
    (None: lists and rules settled it, or no model ran). ``transaction_pk`` is for reading
    its label (``scoring.label_reads``)."""

    decision_id: str
    transaction_pk: int
    amount: Decimal
    occurred_at: datetime
    decided_by: str | None
    champion_score: float | None
    champion_outcome: str | None
    challenger_score: float | None
    challenger_outcome: str | None


def shadow_pairs(*, version: ModelVersion, since: datetime, until: datetime) -> list[ShadowPair]:
    """The decisions created in [``since``, ``until``) that ``version`` scored or decided,
    oldest first, each with the current champion's score: the decision's own where the
    champion decided it, else the champion's shadow score."""
    champion = ModelVersion.objects.filter(status=ModelStatus.CHAMPION).first()
    rows = (
        Decision.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(
            challenger=FilteredRelation(
                "shadow_scores", condition=Q(shadow_scores__model_version=version)
            )
        )
        .filter(Q(model_version=version.name) | Q(challenger__isnull=False))
        .order_by("created_at", "pk")
        .values_list(
            "id",
            "transaction_id",
            "transaction__amount",
            "transaction__occurred_at",
            "model_version",
            "score",
            "outcome",
            "challenger__score",
            "challenger__outcome",
        )
    )
    by_champion = _shadow_scores(champion, since=since, until=until)
    pairs = []
    for decision_id, txn_pk, amount, occurred_at, decided_by, score, outcome, *theirs in rows:
        own = (score, outcome)
        champion_side = (
            own
            if champion is not None and decided_by == champion.name
            else by_champion.get(decision_id, (None, None))
        )
        challenger_side = own if decided_by == version.name else (theirs[0], theirs[1])
        pairs.append(
            ShadowPair(
                decision_id=str(decision_id),
                transaction_pk=txn_pk,
                amount=amount,
                occurred_at=occurred_at,
                decided_by=decided_by,
                champion_score=champion_side[0],
                champion_outcome=champion_side[1],
                challenger_score=challenger_side[0],
                challenger_outcome=challenger_side[1],
            )
        )
    return pairs


def _shadow_scores(
    version: ModelVersion | None, *, since: datetime, until: datetime
) -> dict[object, tuple[float | None, str | None]]:
    """``version``'s shadow scores of the decisions created in the window, by decision id."""
    if version is None:
        return {}
    rows = ShadowScore.objects.filter(
        model_version=version, decision__created_at__gte=since, decision__created_at__lt=until
    ).values_list("decision_id", "score", "outcome")
    return {decision_id: (score, outcome) for decision_id, score, outcome in rows}
