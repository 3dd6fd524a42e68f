"""The model interface: anything that turns features into a fraud probability.

Serving depends only on :class:`Scorer`. :class:`NoModelScorer` is the default until a model is
trained (decisions then rest on rules and lists alone); :class:`ConstantScorer` is the test
double. Training code never lives here, so nothing heavy is imported on the request path.

Errors::

    ScorerError        the model could not score (missing file, bad features): the decision
                       falls back to rules and lists and is marked degraded
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from scoring.features.definitions import FeatureValue


class ScorerError(Exception):
    """The model failed to produce a score."""


@dataclass(frozen=True)
class Score:
    probability: float


class Scorer(Protocol):
    @property
    def version(self) -> str | None:
        """The model version that scores, or None when there is no model."""
        ...

    def predict(self, features: Mapping[str, FeatureValue]) -> Score | None:
        """A score, or None when no model runs; raises :class:`ScorerError` on failure."""
        ...

    def explain(self, features: Mapping[str, FeatureValue]) -> Mapping[str, float]:
        """Each feature's contribution to the score (log-odds); empty when the model cannot
        explain itself. Costlier than :meth:`predict`: called for the decisions that need it."""
        ...


@dataclass(frozen=True)
class Explanation:
    """A score taken apart: ``base`` (the model's expected value over its training data) plus
    every feature's contribution is the model's raw score, all in log-odds; ``probability``
    is that raw score calibrated, the score a decision stores."""

    base: float
    contributions: Mapping[str, float]
    probability: float


@runtime_checkable
class ExplainsFromBase(Protocol):
    """A scorer that can say where its explanation starts (the case page's waterfall)."""

    def explanation(self, features: Mapping[str, FeatureValue]) -> Explanation:
        """The full explanation of one row; raises :class:`ScorerError`."""
        ...


class NoModelScorer:
    """No model is active: decisions rest on rules, lists and thresholds alone."""

    version: str | None = None

    def predict(self, features: Mapping[str, FeatureValue]) -> Score | None:
        return None

    def explain(self, features: Mapping[str, FeatureValue]) -> Mapping[str, float]:
        return {}


class ConstantScorer:
    """Scores every transaction the same: for tests and for trying thresholds."""

    def __init__(self, probability: float, *, version: str = "constant") -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        self.probability = probability
        self.version: str | None = version

    def predict(self, features: Mapping[str, FeatureValue]) -> Score | None:
        return Score(self.probability)

    def explain(self, features: Mapping[str, FeatureValue]) -> Mapping[str, float]:
        return {}
