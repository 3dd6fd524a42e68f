"""Integrators and their API keys: issued (shown once, stored as a hash) and revoked."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from scoring.auth import (
    KEY_PREFIX,
    api_key_forget,
    api_key_invalid_forget,
    key_generate,
    key_hash,
)
from scoring.models import ApiKey, Integrator


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # shown once, never stored


@transaction.atomic
def api_key_issue(*, integrator: Integrator) -> IssuedKey:
    key = key_generate()
    api_key = ApiKey.objects.create(
        integrator=integrator, prefix=key[: len(KEY_PREFIX) + 6], key_hash=key_hash(key)
    )
    # No earlier failed try with this key may refuse it (now, and after commit as well).
    api_key_invalid_forget(api_key.key_hash)
    transaction.on_commit(lambda: api_key_invalid_forget(api_key.key_hash))
    return IssuedKey(api_key, key)


@transaction.atomic
def integrator_create(*, name: str) -> IssuedKey:
    """A new integrator with its first API key."""
    integrator = Integrator(name=name)
    integrator.full_clean()
    integrator.save()
    return api_key_issue(integrator=integrator)


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    # Forget it now and again after commit: no request may re-cache it in between.
    api_key_forget(api_key.key_hash)
    transaction.on_commit(lambda: api_key_forget(api_key.key_hash))
