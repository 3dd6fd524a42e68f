"""Each process's own copies of valid keys: revocations reach every process at once, and the
copies are not trusted while the process cannot hear them.

On the real Redis: the shared one (the revocation channel every process of the suite hears)
and, to stop or hang it, one of the test's own (tests/servers.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from scoring import auth
from scoring.integrators import IssuedKey, api_key_revoke
from scoring.key_cache import LocalKeys, cache_location, revocation_publish
from scoring.models import Integrator
from scoring.outage import Outage
from tests import factories
from tests.conftest import TIMED_WAITS_FAKED, service_missing
from tests.servers import ROOT, PrivateRedis, private_redis, stop

PORT = 16413
HEARTBEAT = 0.1
TRUST = 0.3
ADDRESS = "192.0.2.14"


def eventually(condition: Callable[[], bool], *, within: float = 5.0) -> float:
    """Seconds until ``condition()`` held; the test fails if it did not within ``within``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, f"not true within {within} s"
        time.sleep(0.01)
    return time.monotonic() - started


def local_keys() -> LocalKeys:
    return LocalKeys(
        ttl=60,
        size=100,
        heartbeat=HEARTBEAT,
        trust=TRUST,
        outage=Outage("API-key revocation channel", consequence="failed subscription attempts"),
    )


def authenticate(issued: IssuedKey) -> object:
    return auth.api_key_authenticate(hashed=issued.api_key.key_hash, address=ADDRESS)


def held(local: LocalKeys, issued: IssuedKey) -> bool:
    return local.get(issued.api_key.key_hash) is not None


@pytest.fixture
def redis_cache(redis_client, settings) -> None:
    """The cache is the real Redis (it is when the suite runs with REDIS_URL)."""
    if cache_location() is None:
        service_missing("the cache is not Redis: set REDIS_URL")


@pytest.fixture
def local(monkeypatch) -> Iterator[LocalKeys]:
    """A cache of the test's own, listening quickly, in place of the process's."""
    keys = local_keys()
    monkeypatch.setattr(auth, "LOCAL_KEYS", keys)
    yield keys
    keys.stop()


@pytest.fixture
def own_redis(tmp_path, settings) -> Iterator[PrivateRedis]:
    """The cache (and so the revocation channel) on a Redis of the test's own."""
    with private_redis(PORT, tmp_path / "redis.log") as server:
        settings.CACHES = cache_on(server)
        yield server


def cache_on(server: PrivateRedis) -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "fraudops.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }


def kept(local: LocalKeys, issued: IssuedKey) -> None:
    """Authenticate until the key is held in ``local`` (its listener subscribed first)."""
    authenticate(issued)
    eventually(local.trusted)
    authenticate(issued)
    assert held(local, issued)


# --- in this process ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_kept_key_is_authenticated_without_asking_redis_or_the_database(
    redis_cache, local, issued, django_assert_max_num_queries, monkeypatch
):
    kept(local, issued)
    monkeypatch.setattr(auth, "_cache_read", lambda names: pytest.fail("asked Redis"))

    with django_assert_max_num_queries(0):
        assert authenticate(issued) == issued.api_key


@pytest.mark.django_db
def test_kept_keys_wait_while_the_cache_is_found_down_so_a_request_finds_it_back(
    redis_cache, local, issued, monkeypatch
):
    kept(local, issued)
    tracker = Outage("API-key cache", consequence="requests authenticated from the database")
    tracker.failed(TimeoutError())
    monkeypatch.setattr(auth, "KEY_CACHE_OUTAGE", tracker)

    assert authenticate(issued) == issued.api_key  # from Redis, which answers again

    assert not tracker.down
    assert held(local, issued)


@pytest.mark.django_db
def test_a_key_read_while_a_revocation_arrives_is_not_kept(redis_cache, local, issued, monkeypatch):
    # The message is published (as by another process) after the database was read and
    # before the key is stored: what was read may predate the revocation.
    eventually(lambda: (local.get("warm-up"), local.trusted())[1])
    read = auth._api_key_loaded

    def read_then_revoked_elsewhere(hashed: str, *, cache_usable: bool):
        api_key = read(hashed, cache_usable=cache_usable)
        before = local.generation()
        revocation_publish(hashed)
        eventually(lambda: local.generation() != before)
        return api_key

    monkeypatch.setattr(auth, "_api_key_loaded", read_then_revoked_elsewhere)

    assert authenticate(issued) == issued.api_key  # valid when it was read
    assert not held(local, issued)


@pytest.mark.django_db
def test_a_key_is_kept_no_longer_than_its_ttl(redis_cache, monkeypatch, issued):
    now = [1000.0]
    keys = LocalKeys(ttl=60, size=100, heartbeat=HEARTBEAT, trust=TRUST, clock=lambda: now[0])
    monkeypatch.setattr(auth, "LOCAL_KEYS", keys)
    try:
        kept(keys, issued)
        now[0] += 60
        # Trusted again only once Redis answers at the new time: the entry is then expired.
        eventually(keys.trusted)

        assert not held(keys, issued)
    finally:
        keys.stop()


@pytest.mark.django_db
def test_the_least_recently_stored_key_goes_first_beyond_the_size(redis_cache, monkeypatch):
    keys = LocalKeys(ttl=60, size=2, heartbeat=HEARTBEAT, trust=TRUST)
    monkeypatch.setattr(auth, "LOCAL_KEYS", keys)
    try:
        first, second, third = (factories.integrator() for _ in range(3))
        kept(keys, first)
        kept(keys, second)
        kept(keys, third)

        assert [held(keys, issued) for issued in (first, second, third)] == [False, True, True]
    finally:
        keys.stop()


def test_without_redis_nothing_is_kept_and_nothing_listens(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    keys = local_keys()

    assert keys.get("any") is None
    assert keys._listener is None
    revocation_publish("any")  # nowhere to publish: not an error


@pytest.mark.django_db
def test_a_forked_process_does_not_trust_its_parents_keys_and_listens_for_itself(
    redis_cache, local, issued
):
    kept(local, issued)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running anything of pytest's
        try:
            inherited = held(local, issued)
            listening = eventually(local.trusted, within=5.0) >= 0
            os.write(write_end, f"{inherited} {listening} {len(local)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        report = os.read(read_end, 100).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)

    assert report == "False True 0"
    assert held(local, issued)  # the parent's copies are its own still


@pytest.mark.django_db
def test_an_integrator_with_keys_cannot_be_deleted_in_admin_so_no_key_vanishes_unannounced(
    issued,
):
    # Its keys would go with it (CASCADE) without a revocation: kept copies would live on.
    admin = Client(SERVER_NAME="localhost")
    admin.force_login(User.objects.create_superuser("ada", "ada@example.com", "pw"))
    integrator = issued.api_key.integrator

    response = admin.post(f"/admin/scoring/integrator/{integrator.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Integrator.objects.filter(pk=integrator.pk).exists()


# --- when the channel cannot be heard ------------------------------------------------------


@pytest.mark.django_db
def test_a_redis_that_stops_empties_the_cache_and_requests_ask_the_database(
    own_redis, local, issued
):
    kept(local, issued)

    stop(own_redis.process)
    emptied = eventually(lambda: len(local) == 0 and not local.trusted(), within=2.0)

    assert emptied < 1.0
    assert authenticate(issued) == issued.api_key  # from the database
    assert len(local) == 0


@pytest.mark.django_db
@TIMED_WAITS_FAKED
def test_a_hung_redis_makes_the_cache_untrusted_within_the_trust_period(own_redis, local, issued):
    kept(local, issued)

    with own_redis.hung():
        untrusted = eventually(lambda: not local.trusted(), within=2.0)
        emptied = eventually(lambda: len(local) == 0, within=2.0)
        assert authenticate(issued) == issued.api_key  # from the database
        assert len(local) == 0

    assert untrusted <= TRUST + HEARTBEAT + 0.2
    assert emptied < 2 * TRUST + 1.0


@pytest.mark.django_db
def test_a_restarted_redis_is_heard_again_starting_with_an_empty_cache(
    tmp_path, settings, local, issued
):
    with private_redis(PORT, tmp_path / "first.log") as first:
        settings.CACHES = cache_on(first)
        kept(local, issued)
    eventually(lambda: not local.trusted(), within=2.0)

    with private_redis(PORT, tmp_path / "second.log"):
        eventually(local.trusted, within=5.0)
        assert len(local) == 0
        kept(local, issued)


@pytest.mark.django_db
def test_a_process_listening_to_another_redis_than_the_caches_does_not_trust_its_keys(
    redis_cache, local, issued, tmp_path, settings
):
    kept(local, issued)

    with private_redis(PORT, tmp_path / "redis.log") as server:
        settings.CACHES = cache_on(server)  # revocations now go to another Redis

        assert not local.trusted()
        assert not held(local, issued)


# --- across processes ----------------------------------------------------------------------

# Another process of the app: it authenticates until it holds the key in its own cache, says
# so, then, told the key was revoked, authenticates again until refused.
OTHER_PROCESS = """
import sys, time
import django
django.setup()
from rest_framework import exceptions
from scoring import auth
hashed = sys.argv[1]
deadline = time.monotonic() + 20
while auth.LOCAL_KEYS.get(hashed) is None:
    assert time.monotonic() < deadline, "the key was never kept"
    auth.api_key_authenticate(hashed=hashed, address="192.0.2.15")
    time.sleep(0.01)
print("held", flush=True)
sys.stdin.readline()
started, accepted = time.monotonic(), 0
while True:
    try:
        auth.api_key_authenticate(hashed=hashed, address="192.0.2.15")
    except exceptions.AuthenticationFailed:
        break
    accepted += 1
    assert time.monotonic() < deadline, "the revoked key was still accepted"
    time.sleep(0.001)
print(f"refused {time.monotonic() - started:.4f} {accepted}", flush=True)
"""


def database_url() -> str:
    """The test database (committed rows are visible to another process)."""
    db = connection.settings_dict
    user = f"{db['USER']}:{db['PASSWORD']}" if db["PASSWORD"] else db["USER"]
    return f"postgres://{user}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_is_refused_by_the_next_request_of_another_process(
    postgres, redis_cache, settings
):
    issued = factories.integrator("acme")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fraudops.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": str(cache_location()),
    }
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, issued.api_key.key_hash],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        assert other.stdin is not None
        assert other.stdout.readline().strip() == "held"

        api_key_revoke(api_key=issued.api_key)  # committed: published after commit
        other.stdin.write("revoked\n")
        other.stdin.flush()
        refused = other.stdout.readline().split()
        assert other.wait(timeout=30) == 0
    finally:
        stop(other)  # type: ignore[arg-type]

    assert refused[0] == "refused"
    assert float(refused[1]) < 0.2, refused
    assert int(refused[2]) <= 1, refused  # the next request, or at worst the one after


def test_a_message_on_the_channel_drops_only_that_key(redis_cache, local):
    eventually(lambda: (local.get("warm-up"), local.trusted())[1])
    before = local.generation()
    revocation_publish(uuid.uuid4().hex)

    eventually(lambda: local.generation() != before)
    assert local.trusted()
