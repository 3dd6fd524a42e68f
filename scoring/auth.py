"""API-key authentication for integrators: ``Authorization: Token <key>``."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from scoring.models import ApiKey, Integrator
from scoring.outage import Outage

logger = logging.getLogger(__name__)

KEY_PREFIX = "fo_"


def key_hash(key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def key_generate() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


# A valid key is remembered in the cache (Redis in production) for this long, which saves a
# database query on every decision. Revoking through the service forgets it at once.
API_KEY_CACHE_SECONDS = 60


# While the cache is down, requests skip it and ask the database, and one every 5 s tries it
# again: a hung cache costs one timeout every 5 s, not one per request.
KEY_CACHE_OUTAGE = Outage(
    "API-key cache", consequence="requests authenticated from the database", probe_every=5.0
)


def _cache_key(hashed: str) -> str:
    return f"fraudops:apikey:{hashed}"


def api_key_active(hashed: str) -> ApiKey | None:
    """The unrevoked key with this hash (its integrator loaded), from the cache if there."""
    cached = None
    cache_up = KEY_CACHE_OUTAGE.should_try()
    if cache_up:
        try:
            cached = cache.get(_cache_key(hashed))
        except Exception as exc:  # the cache is down: the database still answers
            KEY_CACHE_OUTAGE.failed(exc)
            cache_up = False
        else:
            KEY_CACHE_OUTAGE.succeeded()
    else:
        KEY_CACHE_OUTAGE.skipped()
    if isinstance(cached, ApiKey):
        return cached
    api_key = (
        ApiKey.objects.select_related("integrator")
        .filter(key_hash=hashed, revoked_at__isnull=True)
        .first()
    )
    if api_key is not None and cache_up:
        try:
            cache.set(_cache_key(hashed), api_key, API_KEY_CACHE_SECONDS)
        except Exception as exc:
            KEY_CACHE_OUTAGE.failed(exc)
    return api_key


def api_key_forget(hashed: str) -> None:
    """Drop a key from the cache (it was revoked): the next request asks the database."""
    try:
        cache.delete(_cache_key(hashed))
    except Exception:
        # The revocation is committed; only a copy cached before it can still be accepted.
        logger.exception(
            "revoked API key not dropped from the cache: accepted for up to %d s more",
            API_KEY_CACHE_SECONDS,
        )


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
        api_key = api_key_active(key_hash(key))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
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
