"""Review and decline thresholds from cost and capacity (pure: numpy only, no Django).

Training keeps, with each model, its validation window summed over a grid of score thresholds
(:func:`threshold_curve`): for each threshold ``t`` the rows, fraud rows, fraud amount and
legit rows scoring at or above ``t`` (the policy's "at or above": ``rules.policy.Thresholds``),
and the window's totals and length in days. That is all a recommendation needs, so it can be
made (and made again with other costs) long after the scores are gone.

:func:`thresholds_recommend` picks, given what an admin set (:class:`Costs`):

1. **Decline** ``d``: the lowest grid threshold whose decline false-positive rate — legit rows
   at or above ``d`` over all legit rows — is at most the ceiling. Declining more catches more
   fraud without a review; the ceiling bounds the good customers refused.
2. **Review** ``r`` (``r ≤ d``): the grid threshold of least expected cost over the window,
   ``review cost × reviews(r) + fraud amount missed(r)``, where ``reviews(r)`` are the rows in
   ``[r, d)`` (a declined row is not reviewed) and the fraud missed is the fraud scoring below
   ``r`` (approved; the fraud loss is the amount). Only thresholds whose reviews per day
   (``reviews(r) / days``) stay within the analysts' capacity qualify; ``r = d`` (no reviews)
   always does. Ties go to the higher threshold (fewer reviews for the same cost).

Both use the model's scores alone: rules that review or decline on their own are not in the
curve (they happen whatever the thresholds), so the capacity is what the model may use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import numpy as np

# Fine steps where calibrated fraud probabilities mostly sit (fraud is ~1% of payments),
# coarser above: 191 thresholds.
GRID: tuple[float, ...] = tuple(
    sorted(
        {round(i / 1000, 3) for i in range(0, 101)} | {round(i / 100, 2) for i in range(10, 101)}
    )
)


class ThresholdCurve(TypedDict):
    """``ModelVersion.threshold_curve``: the validation window over ``GRID``; each list holds
    one value per threshold (rows at or above it)."""

    thresholds: list[float]
    count: list[int]
    fraud: list[int]
    fraud_amount: list[float]
    legit: list[int]
    rows: int
    fraud_total: int
    fraud_amount_total: float
    legit_total: int
    days: float


def threshold_curve(
    *,
    scores: np.ndarray,
    y: np.ndarray,
    amounts: np.ndarray,
    days: float,
    grid: tuple[float, ...] = GRID,
) -> ThresholdCurve:
    """The curve of a window: ``scores`` (calibrated), ``y`` (1: fraud), ``amounts`` (the
    fraud loss of each row), and the window's length in days."""
    fraud = y == 1
    amounts = np.nan_to_num(amounts.astype(np.float64))
    curve: ThresholdCurve = {
        "thresholds": list(grid), "count": [], "fraud": [], "fraud_amount": [], "legit": [],
        "rows": len(y), "fraud_total": int(fraud.sum()),
        "fraud_amount_total": float(amounts[fraud].sum()), "legit_total": int((~fraud).sum()),
        "days": float(days),
    }  # fmt: skip
    for t in grid:
        above = scores >= t
        curve["count"].append(int(above.sum()))
        curve["fraud"].append(int((above & fraud).sum()))
        curve["fraud_amount"].append(float(amounts[above & fraud].sum()))
        curve["legit"].append(int((above & ~fraud).sum()))
    return curve


@dataclass(frozen=True)
class Costs:
    """What an admin sets (``scoring.models.ThresholdCosts``)."""

    review_cost: float  # the cost of one analyst review, in the transactions' currency
    reviews_per_day: float  # the analysts' review capacity
    decline_fpr_ceiling: float  # the largest share of legit payments that may be declined


class NoRecommendation(Exception):
    """The model has no curve (trained before one was kept), or its window cannot tell."""


@dataclass(frozen=True)
class Tradeoff:
    """The review side of the curve once the decline threshold is chosen, per grid threshold
    at or below it: what the figure draws."""

    thresholds: list[float]
    reviews_per_day: list[float]
    cost_per_day: list[float]  # review cost + fraud amount missed, per day
    decline_fpr: list[float]  # per grid threshold (all of them), as a decline threshold


@dataclass(frozen=True)
class Recommendation:
    review_at: float
    decline_at: float
    decline_fpr: float
    reviews_per_day: float
    cost_per_day: float
    missed_fraud_amount_per_day: float
    tradeoff: Tradeoff

    @property
    def decline_fpr_percent(self) -> float:
        """The legit payments declined, in percent (as the ceiling is set and shown)."""
        return self.decline_fpr * 100


class CurveHolder(Protocol):
    """What a recommendation reads of a model version."""

    @property
    def threshold_curve(self) -> Any: ...


def thresholds_recommend(*, version: CurveHolder, costs: Costs) -> Recommendation:
    """The thresholds for ``version`` under ``costs`` (see the module's docstring).

    Raises :class:`NoRecommendation` when the version has no curve, its window has no legit
    row (no false-positive rate) or no length in time (no rate per day), or no threshold of
    the grid keeps declines within the ceiling (isotonic calibration can give legit rows a
    score of 1.0: no threshold up to 1 then declines none of them)."""
    curve = version.threshold_curve
    if not curve:
        raise NoRecommendation("this model was trained before its threshold curve was kept")
    return recommend(curve, costs)


def recommend(curve: Mapping[str, Any], costs: Costs) -> Recommendation:
    if not curve.get("legit_total"):
        raise NoRecommendation("its validation window has no legitimate payment")
    if not curve.get("days"):
        raise NoRecommendation("its validation window spans no time")
    t = np.asarray(curve["thresholds"], dtype=np.float64)
    count = np.asarray(curve["count"], dtype=np.float64)
    fraud_amount = np.asarray(curve["fraud_amount"], dtype=np.float64)
    days = float(curve["days"])
    fpr = np.asarray(curve["legit"], dtype=np.float64) / float(curve["legit_total"])

    allowed = np.flatnonzero(fpr <= costs.decline_fpr_ceiling)
    if not len(allowed):
        raise NoRecommendation(
            f"even a decline at {t[-1]:g} refuses {fpr[-1]:.2%} of legit payments, above the "
            f"ceiling of {costs.decline_fpr_ceiling:.2%}"
        )
    d = int(allowed[np.argmin(t[allowed])])
    decline_at, declined = float(t[d]), count[d]

    candidates = np.flatnonzero(t <= decline_at)
    reviews = count[candidates] - declined
    missed = float(curve["fraud_amount_total"]) - fraud_amount[candidates]
    cost = costs.review_cost * reviews + missed
    within = reviews / days <= costs.reviews_per_day
    # Least cost; among equal costs the highest threshold (the last in grid order).
    best = max(np.flatnonzero(within), key=lambda i: (-cost[i], t[candidates[i]]))
    pick = candidates[best]
    return Recommendation(
        review_at=float(t[pick]),
        decline_at=decline_at,
        decline_fpr=float(fpr[d]),
        reviews_per_day=float(reviews[best] / days),
        cost_per_day=float(cost[best] / days),
        missed_fraud_amount_per_day=float(missed[best] / days),
        tradeoff=Tradeoff(
            thresholds=[float(x) for x in t[candidates]],
            reviews_per_day=[float(x) for x in reviews / days],
            cost_per_day=[float(x) for x in cost / days],
            decline_fpr=[float(x) for x in fpr],
        ),
    )
