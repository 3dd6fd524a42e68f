"""Writing the audit log (the only writer)."""

from __future__ import annotations

from typing import Any

from django.db import models

from fraudops.audit.models import AuditEntry

SYSTEM = "system"


def actor_name(user: Any) -> str:
    """The name recorded for ``user``; ``None`` (a scheduled job) is the system."""
    if user is None:
        return SYSTEM
    return str(user.get_username()) or f"user {user.pk}"


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that ``actor`` (a user, or None for the system) did ``action`` to ``target``.

    Call it inside the transaction that makes the change: the entry and the change commit
    together or not at all.
    """
    meta = target._meta
    return AuditEntry.objects.create(
        actor=actor_name(actor),
        action=action,
        target_type=f"{meta.app_label}.{meta.model_name}",
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        reason=reason,
        changes=changes or {},
    )


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for each field of ``after`` that differs from ``before``
    (a field absent before, as for a new record, was None)."""
    return {
        key: [before.get(key), value] for key, value in after.items() if before.get(key) != value
    }
