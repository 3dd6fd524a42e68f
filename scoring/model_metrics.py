"""Comparing two models' scores on the same labelled transactions (pure, no Django).

The shadow evaluation (``scoring/retraining.py``) and the comparison page read these: average
precision, ROC AUC, the Brier score and the expected calibration error (ECE: the mean gap
between predicted and observed fraud rates over ten equal-width score bins, weighted by how
many scores fall in each), and the rule that decides whether a challenger may be promoted
on its own.

A metric the labels cannot give (no fraud, or no legitimate transaction, among them) is None:
never NaN, which means nothing and which PostgreSQL's jsonb refuses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class ScoreMetrics:
    average_precision: float | None
    auc_roc: float | None
    brier: float | None
    calibration_error: float | None


def calibration_error(scores: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """ECE over ``bins`` equal-width bins of [0, 1] (a score of 1.0 falls in the last)."""
    which = np.minimum((scores * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(float(scores[inside].mean()) - float(y[inside].mean()))
    return total / len(scores)


def score_metrics(scores: np.ndarray, y: np.ndarray) -> ScoreMetrics:
    """``scores`` (probabilities) against ``y`` (1 fraud, 0 legit), row for row."""
    # Imported here: scikit-learn (with scipy and pandas, ~140 MB) loads in the process that
    # compares models, not in every web worker that imports this module at start-up.
    from sklearn.metrics import average_precision_score, roc_auc_score

    if len(y) == 0:
        return ScoreMetrics(None, None, None, None)
    fraud = int(y.sum())
    ranked = 0 < fraud < len(y)
    return ScoreMetrics(
        average_precision=float(average_precision_score(y, scores)) if fraud else None,
        auc_roc=float(roc_auc_score(y, scores)) if ranked else None,
        brier=float(np.mean((scores - y) ** 2)),
        calibration_error=calibration_error(scores, y),
    )


@dataclass(frozen=True)
class Comparison:
    """Champion and challenger on the same labelled decisions."""

    labelled: int
    fraud: int
    champion: ScoreMetrics
    challenger: ScoreMetrics

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def compare(champion: np.ndarray, challenger: np.ndarray, y: np.ndarray) -> Comparison:
    return Comparison(
        len(y), int(y.sum()), score_metrics(champion, y), score_metrics(challenger, y)
    )


@dataclass(frozen=True)
class PromotionBar:
    margin: float  # average precision the challenger must gain
    min_labelled: int  # labelled decisions it must be measured on
    calibration_slack: float  # how much larger its calibration error may be


def promotion_verdict(comparison: Comparison, bar: PromotionBar) -> tuple[bool, str]:
    """Whether the challenger clears ``bar``, and why (or why not) in a sentence."""
    if comparison.labelled < bar.min_labelled:
        return False, f"{comparison.labelled} labelled shadow decisions, {bar.min_labelled} needed"
    if comparison.fraud == 0:
        return False, "no fraud among the labelled shadow decisions"
    champion, challenger = comparison.champion, comparison.challenger
    if champion.average_precision is None or challenger.average_precision is None:
        return False, "average precision is not computable"
    gain = challenger.average_precision - champion.average_precision
    if gain < bar.margin:
        return False, (
            f"average precision {challenger.average_precision:.3f} vs the champion's "
            f"{champion.average_precision:.3f}: a gain of {gain:+.3f}, {bar.margin:.3f} needed"
        )
    # Both are computable whenever average precision is (some labelled rows, some fraud).
    champion_ece, challenger_ece = (
        champion.calibration_error or 0.0,
        challenger.calibration_error or 0.0,
    )
    if challenger_ece > champion_ece + bar.calibration_slack:
        return False, (
            f"calibration error {challenger_ece:.3f} vs the champion's {champion_ece:.3f}: "
            "worse calibrated"
        )
    return True, (
        f"average precision {challenger.average_precision:.3f} vs {champion.average_precision:.3f} "
        f"on {comparison.labelled} labelled shadow decisions ({comparison.fraud} fraud), "
        f"calibration error {challenger_ece:.3f} vs {champion_ece:.3f}"
    )
