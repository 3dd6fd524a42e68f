"""Per-process singletons of the serving path: the feature store and the active model.

The active model is loaded once per process and swapped when another version is promoted:
a worker checks which version is active at most every ``MODEL_REFRESH_SECONDS``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.conf import settings

from scoring.features.definitions import FEATURE_NAMES
from scoring.features.store import FeatureStore, MemoryFeatureStore, RedisFeatureStore
from scoring.lgbm import Calibration, LightGBMScorer, ModelLoadError
from scoring.model import NoModelScorer, Score, Scorer, ScorerError

logger = logging.getLogger(__name__)


@functools.cache
def feature_store() -> FeatureStore:
    """Redis when ``REDIS_URL`` is set, else this process's memory (the embedded default)."""
    if settings.FEATURE_STORE == "redis":
        return RedisFeatureStore.from_url(settings.REDIS_URL)
    from scoring.replay import store_warm

    store = MemoryFeatureStore()
    started = time.perf_counter()
    count = store_warm(store)
    logger.warning(
        "in-process feature store warmed with %d transactions in %.1f s",
        count,
        time.perf_counter() - started,
    )
    return store


class BrokenModelScorer:
    """The active model could not be loaded: every decision is degraded until it is fixed."""

    def __init__(self, version: str, error: str) -> None:
        self.version: str | None = version
        self.error = error

    def predict(self, features: object) -> Score | None:
        raise ScorerError(self.error)


class _ActiveModel:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scorer: Scorer = NoModelScorer()
        self._version_id: int | None = None
        self._checked_at = float("-inf")
        self._override: Scorer | None = None

    def get(self) -> Scorer:
        if self._override is not None:
            return self._override
        if time.monotonic() - self._checked_at >= settings.MODEL_REFRESH_SECONDS:
            self._refresh()
        return self._scorer

    def _refresh(self) -> None:
        from scoring.models import ModelVersion

        with self._lock:
            active = ModelVersion.objects.filter(is_active=True).first()
            self._checked_at = time.monotonic()
            active_id = None if active is None else active.pk
            if active_id == self._version_id:
                return
            self._version_id = active_id
            self._scorer = NoModelScorer() if active is None else _load(active)

    def set(self, scorer: Scorer | None) -> None:
        self._override = scorer

    def reset(self) -> None:
        with self._lock:
            self._scorer, self._version_id, self._checked_at = NoModelScorer(), None, -1e18
            self._override = None


def _load(version: object) -> Scorer:
    from scoring.models import ModelVersion

    assert isinstance(version, ModelVersion)
    try:
        scorer = LightGBMScorer.load(
            version.path,
            version=version.name,
            features=[f["name"] for f in version.features],
            calibration=Calibration(
                tuple(version.calibration["x"]), tuple(version.calibration["y"])
            ),
            known_features=FEATURE_NAMES,
        )
    except ModelLoadError as exc:
        logger.error("model %s not loaded, decisions are degraded: %s", version.name, exc)
        return BrokenModelScorer(version.name, str(exc))
    logger.warning("model %s loaded", version.name)
    return scorer


_active = _ActiveModel()


def scorer() -> Scorer:
    return _active.get()


def scorer_set(new: Scorer | None) -> None:
    """Force this process's scorer (tests, benchmarks); None goes back to the active model."""
    _active.set(new)


def scorer_reset() -> None:
    _active.reset()


def feature_store_health() -> str:
    store = feature_store()
    if isinstance(store, RedisFeatureStore):
        try:
            store.ping()
        except Exception as exc:
            return f"error: {exc}"
    return "ok"
