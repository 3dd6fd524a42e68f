"""How well scores rank and predict fraud (pure: numpy only, no Django, no sklearn).

The comparison page measures champion and challenger with these on the same labelled
decisions; training's recall at a review rate is the same function. Each metric that needs
fraud (or legit) rows answers None when there is none, never NaN.

- :func:`average_precision` equals scikit-learn's ``average_precision_score``: the sum over
  distinct score thresholds of (recall gained) × (precision there); tied scores form one step.
- :func:`roc_auc` equals ``roc_auc_score``: the chance a random fraud outscores a random legit
  row, ties counting a half (Mann–Whitney with average ranks).
- :func:`recall_at_rate`: the share of fraud among the top ``rate`` of rows by score.
- :func:`precision_at`: the share of fraud among the rows at or above a threshold (the
  decline threshold: how often a decline is right).
- :func:`reliability`: per score bin, the mean score against the observed fraud rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _has_both(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < len(y)


def average_precision(y: np.ndarray, scores: np.ndarray) -> float | None:
    """None without fraud among ``y`` (1: fraud, 0: legit)."""
    fraud = int(y.sum())
    if fraud == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    ranked_scores, ranked_y = scores[order], y[order]
    # The last row of each run of equal scores: a threshold admits the whole run at once.
    ends = np.flatnonzero(np.diff(ranked_scores, append=-np.inf) != 0)
    true_positives = np.cumsum(ranked_y)[ends]
    precision = true_positives / (ends + 1)
    recall = true_positives / fraud
    gained = np.diff(recall, prepend=0.0)
    return float(np.sum(gained * precision))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return np.asarray(sums[inverse] / counts[inverse])


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """None unless ``y`` holds both fraud and legit rows."""
    if not _has_both(y):
        return None
    fraud = int(y.sum())
    legit = len(y) - fraud
    rank_sum = float(_average_ranks(scores)[y == 1].sum())
    return (rank_sum - fraud * (fraud + 1) / 2) / (fraud * legit)


def recall_at_rate(scores: np.ndarray, y: np.ndarray, rate: float) -> float:
    """The share of all fraud found among the top ``rate`` of rows (at least one row) by
    score; ties keep the rows' order. 0.0 without fraud."""
    k = max(1, round(len(scores) * rate))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(y[top].sum() / max(1, y.sum()))


def precision_at(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> float | None:
    """The share of fraud among rows whose score is at or above their threshold (one per row:
    each decision's own); None when no row is."""
    above = scores >= thresholds
    if not above.any():
        return None
    return float(y[above].mean())


def brier(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Mean squared error of the score as a probability (lower is better calibrated)."""
    if not len(y):
        return None
    return float(np.mean((scores - y) ** 2))


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    rows: int
    mean_score: float
    fraud_rate: float


def reliability(y: np.ndarray, scores: np.ndarray, *, bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width score bins over [0, 1] (1.0 falls in the last); empty bins are left out."""
    index = np.clip((scores * bins).astype(np.int64), 0, bins - 1)
    result = []
    for b in range(bins):
        inside = index == b
        rows = int(inside.sum())
        if rows:
            result.append(
                ReliabilityBin(
                    b / bins,
                    (b + 1) / bins,
                    rows,
                    float(scores[inside].mean()),
                    float(y[inside].mean()),
                )
            )
    return result


def histogram(scores: np.ndarray, *, bins: int = 50) -> list[int]:
    """Rows per equal-width score bin over [0, 1] (what a distribution figure draws, so a
    page carries ``bins`` numbers, not every score)."""
    counts, _ = np.histogram(np.clip(scores, 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    return [int(c) for c in counts]


@dataclass(frozen=True)
class ModelMeasures:
    """One model's figures on the labelled window."""

    average_precision: float | None
    roc_auc: float | None
    recall_at_review_rate: float | None
    precision_at_decline: float | None
    brier: float | None
    reliability: list[ReliabilityBin]
    histogram: list[int]


def model_measures(
    y: np.ndarray, scores: np.ndarray, *, review_rate: float, decline_at: np.ndarray
) -> ModelMeasures:
    """Every figure the comparison shows for one model's ``scores`` of the labelled rows."""
    has_fraud = bool(y.sum())
    return ModelMeasures(
        average_precision=average_precision(y, scores),
        roc_auc=roc_auc(y, scores),
        recall_at_review_rate=recall_at_rate(scores, y, review_rate) if has_fraud else None,
        precision_at_decline=precision_at(y, scores, decline_at),
        brier=brier(y, scores),
        reliability=reliability(y, scores),
        histogram=histogram(scores),
    )
