"""Champion vs challenger metrics and the auto-promotion bar (pure, hand-computed inputs)."""

import numpy as np
import pytest

from scoring.model_metrics import (
    Comparison,
    PromotionBar,
    ScoreMetrics,
    calibration_error,
    compare,
    promotion_verdict,
    score_metrics,
)

BAR = PromotionBar(margin=0.02, min_labelled=100, calibration_slack=0.01)


def test_the_calibration_error_is_the_weighted_gap_between_predicted_and_observed_rates():
    scores = np.array([0.05, 0.05, 0.95, 0.95])
    y = np.array([0, 1, 1, 1])

    # bin 0: predicted 0.05, observed 0.5 (2 rows); bin 9: predicted 0.95, observed 1 (2 rows)
    assert calibration_error(scores, y) == pytest.approx((2 * 0.45 + 2 * 0.05) / 4)


def test_a_score_of_one_falls_in_the_last_bin():
    assert calibration_error(np.array([1.0]), np.array([1])) == 0.0


def test_without_fraud_average_precision_and_auc_are_not_computable():
    metrics = score_metrics(np.array([0.1, 0.2]), np.array([0, 0]))

    assert metrics.average_precision is None
    assert metrics.auc_roc is None
    assert metrics.brier == pytest.approx((0.01 + 0.04) / 2)


def _comparison(champion_ap, challenger_ap, *, labelled=200, fraud=10, ece=(0.02, 0.02)):
    return Comparison(
        labelled, fraud,
        ScoreMetrics(champion_ap, 0.9, 0.01, ece[0]),
        ScoreMetrics(challenger_ap, 0.9, 0.01, ece[1]),
    )  # fmt: skip


def test_a_challenger_past_the_margin_on_enough_labels_and_as_well_calibrated_is_promotable():
    promotable, why = promotion_verdict(_comparison(0.50, 0.53), BAR)

    assert promotable
    assert "0.530 vs 0.500" in why


def test_a_gain_below_the_margin_is_not_enough():
    promotable, why = promotion_verdict(_comparison(0.50, 0.515), BAR)

    assert not promotable
    assert "0.020 needed" in why


def test_too_few_labelled_decisions_are_not_enough_however_large_the_gain():
    promotable, why = promotion_verdict(_comparison(0.1, 0.9, labelled=99), BAR)

    assert not promotable
    assert why == "99 labelled shadow decisions, 100 needed"


def test_labelled_decisions_without_fraud_are_not_enough():
    promotable, why = promotion_verdict(_comparison(None, None, fraud=0), BAR)

    assert not promotable
    assert "no fraud" in why


def test_a_worse_calibrated_challenger_is_not_promotable_however_large_the_gain():
    worse = _comparison(0.5, 0.7, ece=(0.02, 0.031))
    within_slack = _comparison(0.5, 0.7, ece=(0.02, 0.029))

    promotable, why = promotion_verdict(worse, BAR)

    assert not promotable
    assert "worse calibrated" in why
    assert promotion_verdict(within_slack, BAR)[0]


def test_compare_measures_both_models_on_the_same_rows():
    y = np.array([0, 0, 1, 1])
    comparison = compare(np.array([0.9, 0.1, 0.2, 0.8]), np.array([0.1, 0.2, 0.8, 0.9]), y)

    assert (comparison.labelled, comparison.fraud) == (4, 2)
    assert comparison.challenger.average_precision == 1.0
    assert comparison.challenger.auc_roc == 1.0
    assert comparison.champion.auc_roc == 0.5
