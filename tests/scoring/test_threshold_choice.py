"""Thresholds recommended from cost and capacity pick the hand-computed ones (issue 12, 5)."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from scoring.threshold_choice import Costs, NoRecommendation, threshold_curve, thresholds_recommend

GRID = (0.1, 0.3, 0.5, 0.7, 0.9)
# (score, fraud?, amount) over two days.
ROWS = [
    (0.95, 1, 100), (0.92, 0, 80), (0.75, 1, 300), (0.60, 0, 10), (0.55, 1, 50),
    (0.35, 0, 5), (0.32, 1, 20), (0.20, 0, 40), (0.15, 0, 7), (0.05, 0, 3),
]  # fmt: skip


@dataclass
class Version:
    threshold_curve: Any


@pytest.fixture
def version() -> Version:
    scores, y, amounts = (np.array(column, dtype=float) for column in zip(*ROWS, strict=True))
    return Version(
        threshold_curve(scores=scores, y=y.astype(np.int8), amounts=amounts, days=2.0, grid=GRID)
    )


def costs(review_cost=5.0, reviews_per_day=1000.0, ceiling=0.2) -> Costs:
    return Costs(
        review_cost=review_cost, reviews_per_day=reviews_per_day, decline_fpr_ceiling=ceiling
    )


def test_the_curve_counts_the_rows_fraud_and_legit_at_or_above_each_threshold(version):
    curve = version.threshold_curve

    assert curve["count"] == [9, 7, 5, 3, 2]
    assert curve["fraud"] == [4, 4, 3, 2, 1]
    assert curve["fraud_amount"] == [470, 470, 450, 400, 100]  # legit amounts are no loss
    assert curve["legit"] == [5, 3, 2, 1, 1]
    assert (curve["legit_total"], curve["fraud_amount_total"], curve["days"]) == (6, 470, 2.0)


def test_decline_is_the_lowest_threshold_whose_false_positive_rate_is_under_the_ceiling(version):
    # legit declined at 0.5: 2/6; at 0.7 and 0.9: 1/6
    assert thresholds_recommend(version=version, costs=costs(ceiling=0.2)).decline_at == 0.7
    assert thresholds_recommend(version=version, costs=costs(ceiling=1 / 6)).decline_at == 0.7
    assert thresholds_recommend(version=version, costs=costs(ceiling=0.5)).decline_at == 0.3


def test_review_is_the_cheapest_threshold_below_decline(version):
    # decline at 0.7 declines 3 rows. Review at 0.1 / 0.3 / 0.5 / 0.7 reviews 6 / 4 / 2 / 0
    # rows and misses 0 / 0 / 20 / 70 of fraud: at 5 a review, costs 30 / 20 / 30 / 70.
    picked = thresholds_recommend(version=version, costs=costs(review_cost=5.0))

    assert (picked.review_at, picked.decline_at) == (0.3, 0.7)
    assert picked.reviews_per_day == 2.0
    assert picked.cost_per_day == 10.0
    assert picked.missed_fraud_amount_per_day == 0.0
    assert picked.decline_fpr == pytest.approx(1 / 6)
    assert picked.tradeoff.thresholds == [0.1, 0.3, 0.5, 0.7]
    assert picked.tradeoff.cost_per_day == [15.0, 10.0, 15.0, 35.0]


def test_review_stays_within_the_analysts_capacity(version):
    # 0.3 needs 2 reviews a day: with capacity for 1.5 the next cheapest is 0.5 (1 a day).
    picked = thresholds_recommend(version=version, costs=costs(reviews_per_day=1.5))

    assert (picked.review_at, picked.reviews_per_day) == (0.5, 1.0)


def test_equal_costs_go_to_the_higher_threshold(version):
    # At 10 a review, 0.3 and 0.5 both cost 40 over the window.
    picked = thresholds_recommend(version=version, costs=costs(review_cost=10.0))

    assert picked.review_at == 0.5


def test_no_threshold_under_the_ceiling_or_no_curve_gives_no_recommendation(version):
    with pytest.raises(
        NoRecommendation, match=r"refuses 16.67% of legit payments, above the ceiling of 10\.00%"
    ):
        thresholds_recommend(version=version, costs=costs(ceiling=0.1))
    with pytest.raises(NoRecommendation, match="trained before"):
        thresholds_recommend(version=Version({}), costs=costs())
