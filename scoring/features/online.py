"""The stores that serve decisions: both can also hold a cold generation."""

from __future__ import annotations

from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.store import RedisFeatureStore

OnlineStore = MemoryFeatureStore | RedisFeatureStore
