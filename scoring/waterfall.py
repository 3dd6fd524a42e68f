"""A score as a walk from the model's base rate to the decision's score (pure, no Django).

All in log-odds, where SHAP contributions add up: the model's expected value (its base rate),
then the largest contributions by size under their catalogue labels (a one-hot group such as
the channel counts as one: "Channel: wallet"), then "all N others" summed, then — the score a
decision stores being calibrated — the calibration's own step. The walk ends exactly at the
decision's score: ``base + Σ steps == logit(score)``, by construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scoring.features.catalogue import feature_info, feature_label
from scoring.features.definitions import FeatureValue

# Probabilities this close to 0 or 1 are drawn at the edge (log-odds are infinite there).
EDGE = 1e-12
TOP = 8


def logit(probability: float) -> float:
    p = min(max(probability, EDGE), 1 - EDGE)
    return math.log(p / (1 - p))


def sigmoid(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds))


@dataclass(frozen=True)
class Step:
    label: str
    delta: float  # log-odds
    start: float  # log-odds before this step
    kind: str  # "feature", "others" or "calibration"

    @property
    def end(self) -> float:
        return self.start + self.delta


@dataclass(frozen=True)
class Waterfall:
    base: float  # log-odds
    steps: tuple[Step, ...]
    score: float  # the decision's probability

    @property
    def final(self) -> float:
        """Where the walk ends, in log-odds: the decision's score."""
        return self.steps[-1].end if self.steps else self.base


def grouped_contributions(
    contributions: Mapping[str, float], features: Mapping[str, FeatureValue]
) -> dict[str, float]:
    """Contributions under their labels; a one-hot group's members added into one, named by
    the value this transaction has ("Channel: wallet", or "Channel: none sent"). A feature
    with no value (a payment sent without a device has no device age) says so: the model
    still scores a missing value, often strongly, and the bar must not read as a measured one.
    """
    grouped: dict[str, float] = {}
    for name, value in contributions.items():
        info = feature_info(name)
        if info is not None and info.one_hot is not None:
            label = _one_hot_label(info.one_hot, features)
        elif name in features and features[name] is None:
            label = f"{feature_label(name)}: no value"
        else:
            label = feature_label(name)
        grouped[label] = grouped.get(label, 0.0) + value
    return grouped


def _one_hot_label(group: str, features: Mapping[str, FeatureValue]) -> str:
    for name, value in features.items():
        info = feature_info(name)
        if info is not None and info.one_hot == group and value == 1:
            return f"{group}: {info.one_hot_value}"
    return f"{group}: none sent"


def waterfall(
    *,
    base: float,
    contributions: Mapping[str, float],
    features: Mapping[str, FeatureValue],
    score: float,
    top: int = TOP,
) -> Waterfall:
    """The walk from ``base`` through the ``top`` largest contributions (by size), the rest
    summed, and the calibration, to ``score`` (the decision's probability)."""
    grouped = grouped_contributions(contributions, features)
    ranked = sorted(grouped.items(), key=lambda item: abs(item[1]), reverse=True)
    shown, rest = ranked[:top], ranked[top:]
    deltas: list[tuple[str, float, str]] = [(label, value, "feature") for label, value in shown]
    if rest:
        others = math.fsum(value for _, value in rest)
        deltas.append((f"All {len(rest)} others", others, "others"))
    raw = base + math.fsum(value for _, value in grouped.items())
    calibration = logit(score) - raw
    if abs(calibration) > 1e-9:
        deltas.append(("Calibration", calibration, "calibration"))
    steps, at = [], base
    for label, delta, kind in deltas:
        steps.append(Step(label, delta, at, kind))
        at += delta
    if steps:  # the last step lands exactly on the score, whatever rounding on the way
        last = steps[-1]
        steps[-1] = Step(last.label, logit(score) - last.start, last.start, last.kind)
    return Waterfall(base=base, steps=tuple(steps), score=score)
