"""Integrators and their API keys: issued (shown once, stored as a hash), rotated and revoked.

Each issue, rotation and revocation is recorded in the audit log, with who did it (``user``;
None for the system: a management command, the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fraudops.audit.services import audit_record
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
def api_key_issue(*, integrator: Integrator, user: Any = None, reason: str = "") -> IssuedKey:
    issued = _issue(integrator)
    audit_record(
        actor=user,
        action="api_key.issue",
        target=issued.api_key,
        reason=reason,
        changes={"integrator": [None, integrator.name], "prefix": [None, issued.api_key.prefix]},
    )
    return issued


@transaction.atomic
def integrator_create(*, name: str, user: Any = None) -> IssuedKey:
    """A new integrator with its first API key."""
    integrator = Integrator(name=name)
    integrator.full_clean()
    integrator.save()
    audit_record(
        actor=user, action="integrator.create", target=integrator, changes={"name": [None, name]}
    )
    return api_key_issue(integrator=integrator, user=user)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, user: Any = None, reason: str = "") -> None:
    """Revoke a key (at once: it is dropped from every worker's cache). Revoking a revoked key
    changes nothing and records nothing."""
    before = api_key.revoked_at
    _revoke(api_key)
    if before is None:
        audit_record(
            actor=user,
            action="api_key.revoke",
            target=api_key,
            reason=reason,
            changes={"revoked_at": [None, _iso(api_key.revoked_at)]},
        )


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, user: Any = None, reason: str = "") -> IssuedKey:
    """A new key for the same integrator, and the old one revoked, in one step (and one audit
    entry, on the old key, naming the new one). The integrator switches to the new key at
    once: the old one stops working when this commits."""
    locked = ApiKey.objects.select_for_update().select_related("integrator").get(pk=api_key.pk)
    issued = _issue(locked.integrator)
    before = locked.revoked_at
    _revoke(locked)
    audit_record(
        actor=user,
        action="api_key.rotate",
        target=locked,
        reason=reason,
        changes={
            "revoked_at": [_iso(before), _iso(locked.revoked_at)],
            "replaced_by": [None, issued.api_key.prefix],
        },
    )
    api_key.revoked_at = locked.revoked_at
    return issued


def _issue(integrator: Integrator) -> IssuedKey:
    key = key_generate()
    api_key = ApiKey.objects.create(
        integrator=integrator, prefix=key[: len(KEY_PREFIX) + 6], key_hash=key_hash(key)
    )
    # No earlier failed try with this key may refuse it (now, and after commit as well).
    api_key_invalid_forget(api_key.key_hash)
    transaction.on_commit(lambda: api_key_invalid_forget(api_key.key_hash))
    return IssuedKey(api_key, key)


def _revoke(api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    # Forget it now and again after commit: no request may re-cache it in between.
    api_key_forget(api_key.key_hash)
    transaction.on_commit(lambda: api_key_forget(api_key.key_hash))


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
