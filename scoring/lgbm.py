"""Serving a LightGBM model: load once, score one row, explain it with exact TreeSHAP.

Nothing from training is imported here. The model file and its metadata (ordered features,
isotonic calibration, the file's SHA-256) come from a :class:`~scoring.models.ModelVersion`; a
feature list that does not match the file, or the code's own feature definitions, fails loudly
at load time.

LightGBM aborts the whole process on some malformed files (a truncated one, for instance), and
parses a same-size altered one without complaint. So the file is read once, its SHA-256 held
against the registered one, and the booster built from those same bytes: LightGBM only ever
parses bytes identical to the file training wrote and itself loaded back. (Parsing in a child
process first would also cover a LightGBM upgrade that no longer reads an old file, at the
cost of a second interpreter and about a second per load; with the hash check it is not needed
to keep a worker alive, so it is not done.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring.features.definitions import FeatureValue
from scoring.lightgbm_lean import lightgbm
from scoring.model_files import sha256_hex
from scoring.scorer import Explanation, Score, ScorerError


class ModelLoadError(ScorerError):
    """The model file is missing, unreadable, not the registered file (its SHA-256 differs), or
    does not take the features we compute."""


@dataclass(frozen=True)
class Calibration:
    """Isotonic calibration: raw probability → calibrated probability.

    Isotonic regression is a step function: every raw score on one plateau maps to the same
    probability, so a ranking — the review queue, average precision, precision at the top —
    loses the order the model gave. A tie-break of ``TIE_BREAK × raw`` (at most one
    millionth, far below any threshold's resolution) keeps the calibrated scores in the
    model's order while moving no probability by more than that.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    TIE_BREAK = 1e-6

    def apply(self, raw: float) -> float:
        return float(self.apply_many(np.asarray([raw], dtype=np.float64))[0])

    def apply_many(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of many raw ones, strictly in the raw scores' order."""
        raw = np.asarray(raw, dtype=np.float64)
        if not self.x:
            return raw
        stepped = np.interp(raw, self.x, self.y) * (1.0 - self.TIE_BREAK)
        return np.asarray(stepped + self.TIE_BREAK * raw)


def _booster_verified(path: str | Path, *, version: str, sha256: str) -> lightgbm.Booster:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read model {version} from {path}: {exc}") from exc
    if not sha256:
        raise ModelLoadError(f"model {version} has no registered SHA-256: refusing {path}")
    digest = sha256_hex(data)
    if digest != sha256:
        raise ModelLoadError(
            f"model {version} refused: {path} ({len(data)} bytes) has SHA-256 {digest[:12]}…, "
            f"training registered {sha256[:12]}… (the file was truncated or changed)"
        )
    try:
        return lightgbm.Booster(model_str=data.decode("utf-8"))
    except (lightgbm.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot parse model {version} from {path}: {exc}") from exc


class LightGBMScorer:
    def __init__(
        self,
        booster: lightgbm.Booster,
        *,
        version: str,
        features: Sequence[str],
        calibration: Calibration,
    ) -> None:
        self._booster = booster
        self.version: str | None = version
        self.features = tuple(features)
        self._calibration = calibration

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        version: str,
        sha256: str,
        features: Sequence[str],
        calibration: Calibration,
        known_features: Sequence[str],
    ) -> LightGBMScorer:
        """Load the file at ``path`` if its SHA-256 is ``sha256``; raises ModelLoadError."""
        booster = _booster_verified(path, version=version, sha256=sha256)
        if list(booster.feature_name()) != list(features):
            raise ModelLoadError(
                f"model {version}: its file expects {booster.feature_name()}, "
                f"its version record lists {list(features)}"
            )
        unknown = sorted(set(features) - set(known_features))
        if unknown:
            raise ModelLoadError(f"model {version} needs features we do not compute: {unknown}")
        return cls(booster, version=version, features=features, calibration=calibration)

    def row(self, values: Mapping[str, FeatureValue]) -> np.ndarray:
        """The model's input: features in its order, a missing value as NaN (never 0)."""
        return np.array(
            [[math.nan if (v := values.get(name)) is None else v for name in self.features]],
            dtype=np.float64,
        )

    def predict(self, features: Mapping[str, FeatureValue]) -> Score | None:
        try:
            # One thread: for one row, OpenMP's second thread only adds waiting when the cores
            # are busy (p99 rose from ~2 ms to 10-25 ms under load in bench/pipeline).
            raw_logit = float(
                self._booster.predict(self.row(features), raw_score=True, num_threads=1)[0]
            )
        except (lightgbm.basic.LightGBMError, ValueError) as exc:
            raise ScorerError(f"model {self.version} failed: {exc}") from exc
        raw = 1.0 / (1.0 + math.exp(-raw_logit))
        return Score(self._calibration.apply(raw))

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of many rows in one ``predict`` (columns in
        ``self.features``' order, NaN missing): a holdout, or a shadow batch — never the
        request path. One thread, as for a single row: a worker shares the cores with the
        servers, whose latency must not change. Raises ScorerError."""
        try:
            raw = np.asarray(self._booster.predict(x, num_threads=1), dtype=np.float64)
        except (lightgbm.basic.LightGBMError, ValueError) as exc:
            raise ScorerError(f"model {self.version} failed: {exc}") from exc
        return self._calibration.apply_many(raw)

    def importances(self) -> dict[str, float]:
        """Each feature's total gain in the model's trees (which features it leans on)."""
        gains = self._booster.feature_importance(importance_type="gain")
        return dict(zip(self.features, map(float, gains), strict=True))

    def predict_many(self, rows: Sequence[Mapping[str, FeatureValue]]) -> list[Score]:
        """Scores of many feature mappings (a shadow batch of stored decisions): one float32
        matrix, the dtype training fits on, through :meth:`predict_rows`."""
        if not rows:
            return []
        # Built as lists and converted once: numpy's per-element assignment costs several
        # times a list's (most of a batch's CPU was there).
        names, nan = self.features, math.nan
        matrix = np.array(
            [[nan if (v := values.get(n)) is None else v for n in names] for values in rows],
            dtype=np.float32,
        )
        return [Score(float(p)) for p in self.predict_rows(matrix)]

    def explain(self, features: Mapping[str, FeatureValue]) -> Mapping[str, float]:
        """Exact TreeSHAP (LightGBM's ``pred_contrib``): log-odds contribution per feature."""
        try:
            row = self.row(features)
            contrib = self._booster.predict(row, pred_contrib=True, num_threads=1)[0]
        except (lightgbm.basic.LightGBMError, ValueError) as exc:
            raise ScorerError(f"model {self.version} failed to explain: {exc}") from exc
        return dict(zip(self.features, map(float, contrib[:-1]), strict=True))

    def explanation(self, features: Mapping[str, FeatureValue]) -> Explanation:
        """Every feature's TreeSHAP contribution and the expected value they start from (the
        last column of ``pred_contrib``), with the calibrated score of their sum."""
        try:
            contrib = self._booster.predict(self.row(features), pred_contrib=True, num_threads=1)[0]
        except (lightgbm.basic.LightGBMError, ValueError) as exc:
            raise ScorerError(f"model {self.version} failed to explain: {exc}") from exc
        base, values = float(contrib[-1]), [float(v) for v in contrib[:-1]]
        raw = 1.0 / (1.0 + math.exp(-(base + math.fsum(values))))
        return Explanation(
            base=base,
            contributions=dict(zip(self.features, values, strict=True)),
            probability=self._calibration.apply(raw),
        )
