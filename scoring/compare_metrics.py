"""What the comparison page shows of a model's scores beyond ``scoring.model_metrics``
(average precision, ROC AUC, Brier, calibration error: the shadow evaluation's, read here
too). Pure: numpy only. Training's recall at a review rate is this module's function. Each
metric that needs fraud rows answers None when there is none, never NaN.

- :func:`recall_at_rate`: the share of fraud among the top ``rate`` of rows by score.
- :func:`precision_at`: the share of fraud among the rows at or above a threshold (the
  decline threshold: how often a decline is right).
- :func:`reliability`: per score bin, the mean score against the observed fraud rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.model_metrics import score_metrics


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
    calibration_error: float | None
    reliability: list[ReliabilityBin]
    histogram: list[int]


def model_measures(
    y: np.ndarray, scores: np.ndarray, *, review_rate: float, decline_at: np.ndarray
) -> ModelMeasures:
    """Every figure the comparison shows for one model's ``scores`` of the labelled rows."""
    has_fraud = bool(y.sum())
    shared = score_metrics(scores, y)
    return ModelMeasures(
        average_precision=shared.average_precision,
        roc_auc=shared.auc_roc,
        recall_at_review_rate=recall_at_rate(scores, y, review_rate) if has_fraud else None,
        precision_at_decline=precision_at(y, scores, decline_at),
        brier=shared.brier,
        calibration_error=shared.calibration_error,
        reliability=reliability(y, scores),
        histogram=histogram(scores),
    )
