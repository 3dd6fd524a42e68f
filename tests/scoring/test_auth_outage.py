"""The API key is checked against the database while the cache's Redis is hung, quietly."""

import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from scoring import auth
from scoring.integrators import api_key_revoke
from scoring.outage import Outage
from tests.servers import PrivateRedis, private_redis

pytestmark = pytest.mark.django_db

PORT = 16412
# Short, so the test need not wait long for the cache to be tried again.
PROBE_EVERY = 0.3


@pytest.fixture
def cache_redis(tmp_path, settings) -> Iterator[PrivateRedis]:
    """The cache on a Redis of the test's own, with the timeouts production uses."""
    with private_redis(PORT, tmp_path / "redis.log") as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "fraudops.cache.RedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
            }
        }
        yield server


@pytest.fixture
def key_cache_outage(monkeypatch) -> Outage:
    """A tracker of the test's own, so no outage outlives the test."""
    tracker = Outage(
        "API-key cache",
        consequence="requests authenticated from the database",
        probe_every=PROBE_EVERY,
    )
    monkeypatch.setattr(auth, "KEY_CACHE_OUTAGE", tracker)
    return tracker


def authenticated_get(api):
    # An unknown decision: 404 once the key is accepted, 401 if it is not.
    return api.get(f"/api/v1/decisions/{uuid.uuid4()}")


def outage_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("API-key cache")]


def test_a_hung_cache_still_authenticates_from_the_database_without_a_traceback_per_request(
    api, cache_redis, key_cache_outage, caplog
):
    assert authenticated_get(api).status_code == 404  # cached now

    started = time.perf_counter()
    with cache_redis.hung():
        statuses = [authenticated_get(api).status_code for _ in range(20)]
    elapsed = time.perf_counter() - started

    assert statuses == [404] * 20
    # One timeout, and perhaps a probe or two: not one per request.
    # At most one request per probe period tries the hung cache; the first is the failure.
    assert key_cache_outage.skips >= 20 - 1 - 1 - int(elapsed / PROBE_EVERY)
    assert elapsed < 20 * 0.25
    assert [r.levelname for r in outage_lines(caplog)] == ["ERROR"]
    assert all(r.exc_info is None for r in caplog.records)


def test_the_cache_outage_is_logged_as_over_with_how_many_requests_went_without_it(
    api, cache_redis, key_cache_outage, caplog
):
    with cache_redis.hung():
        for _ in range(5):
            assert authenticated_get(api).status_code == 404
    time.sleep(PROBE_EVERY)

    assert authenticated_get(api).status_code == 404

    start, end = (r.getMessage() for r in outage_lines(caplog))
    assert "unavailable since" in start
    assert end.endswith(", 5 requests authenticated from the database")
    assert not key_cache_outage.down


def test_a_revoked_key_is_refused_while_the_cache_is_hung(
    api, issued, cache_redis, key_cache_outage, caplog
):
    with cache_redis.hung():
        api_key_revoke(api_key=issued.api_key)

        assert authenticated_get(api).status_code == 401

    assert "revoked API key not dropped from the cache" in caplog.text
