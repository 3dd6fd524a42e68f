"""The comparison's metric math agrees with scikit-learn's, ties included."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from scoring import compare_metrics as m


def test_the_pages_measures_take_ap_auc_and_brier_from_the_shadow_evaluations_metrics():
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.08).astype(np.int8)
    scores = np.round(np.clip(rng.normal(0.2 + 0.4 * y, 0.2), 0, 1), 1)  # ties, as isotonic

    measures = m.model_measures(y, scores, review_rate=0.05, decline_at=np.full(400, 0.9))

    assert measures.average_precision == pytest.approx(average_precision_score(y, scores))
    assert measures.roc_auc == pytest.approx(roc_auc_score(y, scores))
    assert measures.brier == pytest.approx(float(np.mean((scores - y) ** 2)))
    assert measures.recall_at_review_rate == m.recall_at_rate(scores, y, 0.05)


def test_without_fraud_the_ranking_figures_are_none():
    measures = m.model_measures(
        np.zeros(5, dtype=np.int8), np.linspace(0, 1, 5), review_rate=0.2,
        decline_at=np.full(5, 0.9),
    )  # fmt: skip

    assert measures.average_precision is None
    assert measures.roc_auc is None
    assert measures.recall_at_review_rate is None


def test_recall_at_a_rate_counts_the_fraud_among_the_top_scores():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])

    assert m.recall_at_rate(scores, y, 0.2) == pytest.approx(1 / 3)  # top 2: one of 3 fraud
    assert m.recall_at_rate(scores, y, 0.3) == pytest.approx(2 / 3)


def test_precision_at_the_decline_threshold_uses_each_rows_own_threshold():
    y = np.array([1, 0, 1, 0])
    scores = np.array([0.95, 0.91, 0.85, 0.5])
    thresholds = np.array([0.9, 0.9, 0.8, 0.9])  # the third row was decided under 0.8

    assert m.precision_at(y, scores, thresholds) == pytest.approx(2 / 3)
    assert m.precision_at(y, scores, np.full(4, 0.99)) is None


def test_the_reliability_curve_pairs_each_bins_mean_score_with_its_fraud_rate():
    y = np.array([0, 0, 1, 1, 1, 0])
    scores = np.array([0.05, 0.15, 0.15, 0.95, 1.0, 0.91])

    bins = m.reliability(y, scores)

    assert [(b.low, b.rows) for b in bins] == [(0.0, 1), (0.1, 2), (0.9, 3)]
    assert bins[1].mean_score == pytest.approx(0.15)
    assert bins[1].fraud_rate == 0.5
    assert bins[2].fraud_rate == pytest.approx(2 / 3)  # a score of 1.0 is in the last bin


def test_the_histogram_counts_scores_per_bin():
    assert m.histogram(np.array([0.0, 0.01, 0.5, 1.0]), bins=4) == [2, 0, 1, 1]
