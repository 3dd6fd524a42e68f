"""API-key authentication for integrators: ``Authorization: Token <key>``."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from fraudops.client_ip import client_ip
from scoring.key_cache import LocalKeys, revocation_publish
from scoring.models import ApiKey, Integrator
from scoring.outage import Outage

logger = logging.getLogger(__name__)

KEY_PREFIX = "fo_"


def key_hash(key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def key_generate() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


# A valid key is remembered in the cache (Redis in production) and in each process that used
# it (while that process hears revocations, see scoring/key_cache.py) for this long, which
# saves a database query (and, in the process, the Redis round trip) on every decision.
# Revoking through the service forgets it at once, in Redis and in every process.
API_KEY_CACHE_SECONDS = 60
# The most keys one process keeps (each is an ApiKey and its Integrator, about 3 kB).
API_KEY_LOCAL_CACHE_SIZE = 10_000
# Each process pings the revocation channel this often, and stops trusting its copies when
# Redis has not answered for API_KEY_LOCAL_TRUST_SECONDS: the longest a revocation that could
# not be published (Redis hung) is still accepted by another process.
API_KEY_LOCAL_HEARTBEAT_SECONDS = 0.5
API_KEY_LOCAL_TRUST_SECONDS = 1.5

LOCAL_KEYS = LocalKeys(
    ttl=API_KEY_CACHE_SECONDS,
    size=API_KEY_LOCAL_CACHE_SIZE,
    heartbeat=API_KEY_LOCAL_HEARTBEAT_SECONDS,
    trust=API_KEY_LOCAL_TRUST_SECONDS,
)


# While the cache is down, requests skip it and ask the database, and one every 5 s tries it
# again: a hung cache costs one timeout every 5 s, not one per request.
KEY_CACHE_OUTAGE = Outage(
    "API-key cache", consequence="requests authenticated from the database", probe_every=5.0
)


def _cache_key(hashed: str) -> str:
    return f"fraudops:apikey:{hashed}"


def _cache_read(names: list[str]) -> dict[str, Any] | None:
    """The cache's values for ``names`` in one round trip, or None while it is down (then
    requests skip it, and one every few seconds tries it again)."""
    if not KEY_CACHE_OUTAGE.should_try():
        KEY_CACHE_OUTAGE.skipped()
        return None
    try:
        found: dict[str, Any] = cache.get_many(names)
    except Exception as exc:  # the cache is down: the database still answers
        KEY_CACHE_OUTAGE.failed(exc)
        return None
    KEY_CACHE_OUTAGE.succeeded()
    return found


def _api_key_loaded(hashed: str, *, cache_usable: bool) -> ApiKey | None:
    """The unrevoked key with this hash from the database, then remembered in the cache."""
    api_key = (
        ApiKey.objects.select_related("integrator")
        .filter(key_hash=hashed, revoked_at__isnull=True)
        .first()
    )
    if api_key is not None and cache_usable:
        try:
            cache.set(_cache_key(hashed), api_key, API_KEY_CACHE_SECONDS)
        except Exception as exc:
            KEY_CACHE_OUTAGE.failed(exc)
    return api_key


def _held(hashed: str) -> ApiKey | None:
    """The key if this process holds it and may trust it."""
    if KEY_CACHE_OUTAGE.down:
        # Not while this process finds the cache down: requests must go on trying it (the
        # probe), or the outage would never be found over (logged, and the gauge put back).
        return None
    return LOCAL_KEYS.get(hashed)


def _hold(hashed: str, api_key: ApiKey, generation: int) -> None:
    if not KEY_CACHE_OUTAGE.down:
        LOCAL_KEYS.store(hashed, api_key, generation)


def api_key_active(hashed: str) -> ApiKey | None:
    """The unrevoked key with this hash (its integrator loaded), from a cache if there."""
    local = _held(hashed)
    if local is not None:
        return local
    generation = LOCAL_KEYS.generation()
    found = _cache_read([_cache_key(hashed)])
    cached = found.get(_cache_key(hashed)) if found is not None else None
    api_key = (
        cached
        if isinstance(cached, ApiKey)
        else _api_key_loaded(hashed, cache_usable=found is not None)
    )
    if api_key is not None:
        _hold(hashed, api_key, generation)
    return api_key


def api_key_forget(hashed: str) -> None:
    """Drop a key from the caches (it was revoked): this process's, Redis's, and every other
    process's (told on the revocation channel). The next request asks the database."""
    LOCAL_KEYS.drop(hashed)
    try:
        cache.delete(_cache_key(hashed))
    except Exception:
        # The revocation is committed; only a copy cached before it can still be accepted.
        # Redis is out of reach, so the other processes stop trusting their own copies
        # within API_KEY_LOCAL_TRUST_SECONDS; the one in Redis may outlive the outage.
        logger.exception(
            "revoked API key not dropped from the cache: accepted for up to %d s more",
            API_KEY_CACHE_SECONDS,
        )
        return
    try:
        revocation_publish(hashed)
    except Exception:
        logger.exception(
            "revoked API key not announced to the other processes: accepted there for up to "
            "%.1f s more",
            API_KEY_LOCAL_TRUST_SECONDS,
        )


# --- failed authentications ------------------------------------------------------------------
# A hash found invalid is remembered this long, so a flood of one bad key does not reach the
# database. Issuing a key clears its hash's entry; the short life bounds any race with that.
INVALID_KEY_CACHE_SECONDS = 30


def _invalid_cache_key(hashed: str) -> str:
    return f"fraudops:apikey-invalid:{hashed}"


def _failures_cache_key(address: str) -> str:
    return f"fraudops:apikey-failures:{address}"


@dataclass(frozen=True)
class _Cached:
    """What the cache knows about a key and the client sending it."""

    api_key: ApiKey | None
    known_invalid: bool
    failures: int
    usable: bool  # False while the cache is down


def _cached(hashed: str, address: str) -> _Cached:
    # One round trip (MGET on Redis): a valid cached key pays no more than before.
    names = [_cache_key(hashed), _invalid_cache_key(hashed), _failures_cache_key(address)]
    found = _cache_read(names)
    if found is None:  # down: the database answers, unthrottled
        return _Cached(None, known_invalid=False, failures=0, usable=False)
    api_key = found.get(names[0])
    return _Cached(
        api_key if isinstance(api_key, ApiKey) else None,
        known_invalid=names[1] in found,
        failures=int(found.get(names[2], 0)),
        usable=True,
    )


def _failure_recorded(hashed: str, address: str) -> None:
    if KEY_CACHE_OUTAGE.down:
        return  # counted again once the cache is back
    window = settings.API_KEY_FAILURE_WINDOW_SECONDS
    failures = _failures_cache_key(address)
    try:
        cache.set(_invalid_cache_key(hashed), True, INVALID_KEY_CACHE_SECONDS)
        # The window starts at the first failure and is not extended by later ones.
        cache.add(failures, 0, window)
        try:
            cache.incr(failures)
        except ValueError:  # the window ended between add and incr
            cache.set(failures, 1, window)
    except Exception as exc:
        KEY_CACHE_OUTAGE.failed(exc)


def api_key_invalid_forget(hashed: str) -> None:
    """Drop a hash's negative entry (a key with this hash was just issued).

    With the cache down there is nothing to drop that a request could read: issuing goes on.
    """
    try:
        cache.delete(_invalid_cache_key(hashed))
    except Exception as exc:
        KEY_CACHE_OUTAGE.failed(exc)


def api_key_authenticate(*, hashed: str, address: str) -> ApiKey:
    """The active key with this hash, for a request from ``address``.

    Raises ``AuthenticationFailed`` (401) for an unknown or revoked key, and ``Throttled``
    (429 with Retry-After) once ``API_KEY_FAILURE_LIMIT`` failures came from the address
    within ``API_KEY_FAILURE_WINDOW_SECONDS``: then only keys already in the cache pass, and
    nothing reaches the database until the window ends.

    A key this process holds (:data:`LOCAL_KEYS`) costs no round trip at all; one found in
    Redis or the database is kept there, unless a revocation arrived while it was read.
    """
    local = _held(hashed)
    if local is not None:
        return local
    generation = LOCAL_KEYS.generation()
    cached = _cached(hashed, address)
    if cached.api_key is not None:
        _hold(hashed, cached.api_key, generation)
        return cached.api_key
    if cached.failures >= settings.API_KEY_FAILURE_LIMIT:
        raise exceptions.Throttled(
            wait=settings.API_KEY_FAILURE_WINDOW_SECONDS,
            detail="Too many failed API-key authentications from this address.",
        )
    if not cached.known_invalid:
        api_key = _api_key_loaded(hashed, cache_usable=cached.usable)
        if api_key is not None:
            _hold(hashed, api_key, generation)
            return api_key
    _failure_recorded(hashed, address)
    raise exceptions.AuthenticationFailed("Invalid or revoked API key.")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Integrator, ApiKey] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Expected 'Authorization: Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        api_key = api_key_authenticate(hashed=key_hash(key), address=client_ip(request))
        return api_key.integrator, api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "scoring.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; keys come from `manage.py create_integrator NAME`.",
        }
