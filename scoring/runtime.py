"""Per-process singletons of the serving path: the feature store and the scorer."""

from __future__ import annotations

import functools

from django.conf import settings

from scoring.features.store import FeatureStore, MemoryFeatureStore, RedisFeatureStore
from scoring.model import NoModelScorer, Scorer


@functools.cache
def feature_store() -> FeatureStore:
    """Redis when ``REDIS_URL`` is set, else this process's memory (the embedded default)."""
    if settings.FEATURE_STORE == "redis":
        return RedisFeatureStore.from_url(settings.REDIS_URL)
    return MemoryFeatureStore()


_scorer: Scorer = NoModelScorer()


def scorer() -> Scorer:
    return _scorer


def scorer_set(new: Scorer) -> None:
    """Swap the scorer this process uses (tests; model promotion)."""
    global _scorer
    _scorer = new


def feature_store_health() -> str:
    store = feature_store()
    if isinstance(store, RedisFeatureStore):
        try:
            store.ping()
        except Exception as exc:
            return f"error: {exc}"
    return "ok"
