"""Valid API keys kept in this process, trusted only while it hears every revocation.

A request whose key is here is authenticated with no round trip and nothing unpickled. A
revocation is published on a Redis channel after it commits (:func:`revocation_publish`) and
every process listening drops the key at once. The copies are safe only while a process
hears the channel, so :class:`LocalKeys` is trusted only while

- its subscription is confirmed live: Redis answered it (a revocation, or the pong of the
  ping sent every ``heartbeat`` seconds) within the last ``trust`` seconds. A Redis that is
  down, restarted or hung stops the answers, and the cache is emptied and unused until this
  process is subscribed again (requests then go the usual way: the Redis cache, then the
  database);
- it listens on the Redis that revocations are published to, the cache's (settings can move
  the cache; a process still listening to the old one does not trust its copies).

A key read from Redis or the database is stored only if no revocation arrived (nor the
subscription changed) since the read began: a revocation committed just after the read
cannot be undone by storing what was read before it (:meth:`LocalKeys.generation`). Entries
also expire after ``ttl`` seconds and at most ``size`` are kept, the least recently stored
going first.

One listener per process, a daemon thread started by the first request (never at import:
gunicorn and Celery fork after it); a forked child forgets its parent's copies and listens
for itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings

from scoring.models import ApiKey
from scoring.outage import Outage

logger = logging.getLogger(__name__)

REVOKED_CHANNEL = "fraudops:apikey-revoked"

REVOCATIONS_OUTAGE = Outage(
    "API-key revocation channel", consequence="failed subscription attempts"
)


class Deaf(Exception):
    """Redis stopped answering the subscription (hung): it is dropped and made again."""


def cache_location() -> str | None:
    """The URL of the Redis the cache uses (revocations go there), or None without one."""
    backend: dict[str, Any] = settings.CACHES["default"]
    if not str(backend["BACKEND"]).endswith("RedisCache"):
        return None
    location: str = backend["LOCATION"]
    return location


def _client(location: str) -> redis.Redis:
    # The cache's timeouts: a hung Redis costs the caller no more than a cache call does.
    backend: dict[str, Any] = settings.CACHES["default"]
    options: dict[str, Any] = backend.get("OPTIONS", {})
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    return redis.Redis.from_url(location, **timeouts)


class LocalKeys:
    """This process's copies of valid keys (hash -> ApiKey with its integrator)."""

    def __init__(
        self,
        *,
        ttl: float,
        size: int,
        heartbeat: float,
        trust: float,
        clock: Callable[[], float] = time.monotonic,
        outage: Outage = REVOCATIONS_OUTAGE,
    ) -> None:
        self._ttl, self._size, self._clock, self._outage = ttl, size, clock, outage
        self._heartbeat, self._trust = heartbeat, trust
        self._stopped = threading.Event()
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # Also the child's first step after a fork: the parent's lock may have been held by a
        # thread that does not exist here, and its listener is not ours.
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[ApiKey, float]] = OrderedDict()
        self._generation = 0
        self._live = False
        self._heard = 0.0
        self._location: str | None = None
        self._listener: threading.Thread | None = None

    # --- requests -------------------------------------------------------------------------

    def get(self, hashed: str) -> ApiKey | None:
        """The key with this hash if this process holds it and may trust it."""
        if not self.trusted():
            self._listen()
            return None
        entry = self._entries.get(hashed)
        if entry is None:
            return None
        api_key, expires = entry
        if self._clock() >= expires:
            with self._lock:
                self._entries.pop(hashed, None)
            return None
        return api_key

    def generation(self) -> int:
        """A number to pass to :meth:`store` with a key read from now on."""
        return self._generation

    def store(self, hashed: str, api_key: ApiKey, generation: int) -> None:
        """Keep ``api_key``, read since :meth:`generation` returned ``generation``, unless a
        revocation or a change of subscription came in between (or the cache is not
        trusted)."""
        with self._lock:
            if generation != self._generation or not self.trusted():
                return
            self._entries[hashed] = (api_key, self._clock() + self._ttl)
            self._entries.move_to_end(hashed)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, hashed: str) -> None:
        """Forget a key (revoked): also refuses any read of it already under way."""
        with self._lock:
            self._generation += 1
            self._entries.pop(hashed, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def trusted(self) -> bool:
        return (
            self._live
            and self._clock() - self._heard <= self._trust
            and self._location == cache_location()
        )

    def __len__(self) -> int:
        return len(self._entries)

    # --- the listener ---------------------------------------------------------------------

    def _listen(self) -> None:
        """Start this process's listener if it has none (and there is a Redis to hear)."""
        if self._listener is not None:
            return
        location = cache_location()
        if location is None:  # no Redis (the embedded default): nothing is kept here
            return
        with self._lock:
            if self._listener is not None:
                return
            self._listener = threading.Thread(
                target=self._run, args=(location,), name="api-key-revocations", daemon=True
            )
            self._listener.start()

    def stop(self) -> None:
        """Stop listening, for good (a test's own cache; a process's listens until it exits)."""
        self._stopped.set()
        if self._listener is not None:
            self._listener.join(timeout=5 * self._heartbeat + 1)

    def _run(self, location: str) -> None:
        while not self._stopped.is_set():
            try:
                self._subscribed(location)
            except Exception as exc:  # down, restarted or hung: empty, then subscribe again
                self._deaf(exc)
            time.sleep(self._heartbeat)  # not Event.wait: libfaketime never ends a timed wait
        self.clear()
        self._live = False

    def _subscribed(self, location: str) -> None:
        client = _client(location)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(REVOKED_CHANNEL)
            # Since when Redis owes an answer (the subscription's, then a ping's): only an
            # answer it owes for ``trust`` seconds means it is hung. A gap in which this
            # thread did not run (another held the GIL) sent no ping, so owes nothing.
            owed_since: float | None = self._clock()
            pinged = 0.0
            while not self._stopped.is_set():
                message = pubsub.get_message(timeout=self._heartbeat)
                now = self._clock()
                if message is not None:
                    owed_since = None
                    self._heard_message(message, location, now)
                elif owed_since is not None and now - owed_since > self._trust:
                    raise Deaf(f"no answer from Redis for {now - owed_since:.1f} s")
                if now - pinged >= self._heartbeat:
                    pubsub.ping()
                    pinged = now
                    owed_since = now if owed_since is None else owed_since
        finally:
            pubsub.close()
            client.close()

    def _heard_message(self, message: dict[str, Any], location: str, now: float) -> None:
        kind = message["type"]
        if kind == "subscribe":
            self._subscribed_now(location, now)
        elif kind == "message":
            data = message["data"]
            self.drop(data.decode() if isinstance(data, bytes) else str(data))
        self._heard = now

    def _subscribed_now(self, location: str, now: float) -> None:
        # Whatever was revoked while this process was not subscribed went unheard: start empty.
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._location, self._heard, self._live = location, now, True
        self._outage.succeeded()

    def _deaf(self, error: Exception) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._live = False
        self._outage.failed(error)


_publishers: dict[tuple[int, str], redis.Redis] = {}


def revocation_publish(hashed: str) -> None:
    """Tell every process listening that the key with this hash is no longer valid.

    Raises redis-py's error when Redis does not take it; does nothing without Redis.
    """
    location = cache_location()
    if location is None:
        return
    key = (os.getpid(), location)
    client = _publishers.get(key)
    if client is None:
        client = _publishers[key] = _client(location)
    client.publish(REVOKED_CHANNEL, hashed)
