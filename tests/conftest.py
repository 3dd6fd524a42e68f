"""Shared fixtures.

Tests that need the real Redis or PostgreSQL skip when it is not there, except under
``CI=true``, where a missing service fails the run: CI must prove the production path.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from channels.layers import channel_layers
from django.db import connection
from rest_framework.test import APIClient

from cases import events
from rules.loader import policy_cache_clear
from scoring import auth, serving
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.online import OnlineStore
from scoring.features.store import (
    FeatureStore,
    RedisFeatureStore,
)
from scoring.integrators import IssuedKey
from scoring.outage import Outage
from scoring.scorer import Scorer
from tests import factories
from tests.browser import chromium, live_server_url  # noqa: F401 - the browser tests' fixtures

IN_CI = os.getenv("CI", "").lower() == "true"
REDIS_URL = os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0"
# Under libfaketime (``faketime -f +30d pytest``, the check that no test depends on the date) a
# thread's timed wait never times out: its pthread_cond_timedwait is intercepted (even
# ``Future().result(timeout=1)`` hangs). A test of such a bound is skipped there, never in CI.
TIMED_WAITS_FAKED = pytest.mark.skipif(
    "FAKETIME" in os.environ and not IN_CI,
    reason="under libfaketime a thread's timed wait never times out",
)


def service_missing(reason: str) -> None:
    """Skip locally; fail under CI, where every service must be present."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service fails the run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return client


def _delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_store(redis_client: redis.Redis) -> Iterator[RedisFeatureStore]:
    """A Redis feature store under a prefix of its own, emptied afterwards."""
    prefix = f"fo:test:{uuid.uuid4().hex[:12]}"
    yield RedisFeatureStore(redis_client, prefix=prefix)
    _delete_prefix(redis_client, prefix)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> FeatureStore:
    """Each store test runs on the in-process store and on the real Redis."""
    if request.param == "memory":
        return MemoryFeatureStore()
    store: RedisFeatureStore = request.getfixturevalue("redis_store")
    return store


@pytest.fixture(autouse=True)
def _pool_waits_for_busy_connections(request: pytest.FixtureRequest) -> None:
    """Tests run up to 50 requests on threads of one process, more than the pool holds: let
    them wait for each other (on a loaded 2-core machine 50 requests took over 10 s) as a
    gthread server would need. A sync worker (production) never
    waits on itself, so DB_POOL_TIMEOUT there only bounds an outage."""
    pool = getattr(connection, "pool", None)  # only PostgreSQL's wrapper has one
    if pool is not None:
        pool.timeout = 30.0


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def serving_store(request: pytest.FixtureRequest, settings: Any) -> OnlineStore:
    """The feature store the API decides with in this test (of the configured kind)."""
    if settings.FEATURE_STORE == "redis":
        store: RedisFeatureStore = request.getfixturevalue("redis_store")
        return store
    return MemoryFeatureStore()


# The moment of the cold generation tests publish (a fixed date, before any test's history).
COLD_AS_OF = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture
def cold_published(serving_store: OnlineStore) -> datetime:
    """A cold-feature generation (empty) is published: decisions are not degraded for the
    want of one. Returns its moment."""
    serving_store.cold_publish(COLD_AS_OF.timestamp(), [])
    return COLD_AS_OF


def published(store: FeatureStore) -> FeatureStore:
    """``store`` (an in-process or Redis store) with an empty cold generation published."""
    assert isinstance(store, MemoryFeatureStore | RedisFeatureStore)
    store.cold_publish(COLD_AS_OF.timestamp(), [])
    return store


@pytest.fixture(autouse=True)
def _fresh_serving(
    serving_store: OnlineStore, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test gets its own feature store (of the configured kind), a cold policy cache and
    a model cache of its own (the active model is loaded afresh, as in a new process).

    No cold generation is published in it: a test that needs one says so (``cold_published``).
    """
    settings.RULESET_REFRESH_SECONDS = 0
    # A channel layer of its own: one a server thread of an earlier test received on stays
    # bound to that thread's event loop.
    channel_layers.backends = {}
    # Outages are per process: one an earlier test caused must not skip this test's calls.
    # (The feature store's comes with the store serving.override() installs.)
    for module, name in ((auth, "KEY_CACHE_OUTAGE"), (events, "CHANNEL_OUTAGE")):  # fmt: skip
        tracker = getattr(module, name)
        monkeypatch.setattr(
            module,
            name,
            Outage(tracker.name, consequence=tracker.consequence, probe_every=tracker.probe_every),
        )
    # Explain approvals inline on commit (not on a worker), and no refresher or shadow-scorer
    # thread: tests control them.
    settings.EXPLAIN_APPROVALS_IN_BACKGROUND = False
    settings.EXPLAIN_APPROVALS_ON_WORKER = False
    settings.COLD_FEATURES_REFRESH_IN_PROCESS = False
    settings.SHADOW_SCORE_IN_PROCESS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Failed-key counters live in the cache, which on Redis outlives a run: only the tests
    # of the throttle (tests/scoring/test_auth.py) lower the limit.
    settings.API_KEY_FAILURE_LIMIT = 1_000_000
    # Keys an earlier test's requests kept in this process are not this test's.
    auth.LOCAL_KEYS.clear()
    policy_cache_clear()
    # Kept shadow scorers are keyed by version pk, which SQLite reuses after a flush.
    serving.version_scorers_clear()
    with serving.override(store=serving_store, scorer=serving.ActiveModel()):
        yield
    policy_cache_clear()


ServeWith = Callable[..., None]


@pytest.fixture
def serve_with() -> Iterator[ServeWith]:
    """``serve_with(store=..., scorer=...)``: from then to the end of the test, this process
    decides with the given store and/or scorer (``serving.override``, undone afterwards)."""
    with contextlib.ExitStack() as stack:

        def serve(*, store: OnlineStore | None = None, scorer: Scorer | None = None) -> None:
            stack.enter_context(serving.override(store=store, scorer=scorer))

        yield serve


@pytest.fixture
def issued(db: None) -> IssuedKey:
    return factories.integrator("acme")


@pytest.fixture
def api(issued: IssuedKey) -> APIClient:
    """An API client authenticated as the integrator 'acme'."""
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient(SERVER_NAME="localhost")


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small LightGBM model trained once per run on simulated history."""
    from tests.scoring.model_fixtures import train_small_model

    return train_small_model(Path(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="session")
def other_trained_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.scoring.model_fixtures import train_small_model

    return train_small_model(Path(tmp_path_factory.mktemp("models-b")), seed=12, trees=40)


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery runs tasks inline, as in the embedded default. Failures are kept in the result
    (as a worker keeps them), so retries run inline."""
    from fraudops.celery import app

    conf = app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, False
    yield
    conf.task_always_eager, conf.task_eager_propagates = before
