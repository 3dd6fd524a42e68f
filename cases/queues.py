"""Writes to the case queues (the admin's): each change is recorded in the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction

from cases.models import Queue
from fraudops.audit.services import audit_changes, audit_record

# What a queue's audit entry compares (routing and who works it).
QUEUE_FIELDS = (
    "name", "position", "sla_minutes", "match_rule", "match_channel", "min_amount", "max_amount",
)  # fmt: skip


def queue_snapshot(queue: Queue) -> dict[str, Any]:
    """The queue's settings as JSON values (amounts as text), its analysts by username."""
    values: dict[str, Any] = {}
    for name in QUEUE_FIELDS:
        value = getattr(queue, name)
        if isinstance(value, Decimal):  # as stored: the column's decimal places, as text
            places = Queue._meta.get_field(name).decimal_places  # type: ignore[union-attr]
            value = f"{value:.{places}f}"
        values[name] = value
    values["analysts"] = sorted(queue.analysts.values_list("username", flat=True))
    return values


@transaction.atomic
def queue_save(*, queue: Queue, user: Any, analysts: Iterable[Any] | None = None) -> Queue:
    """Create or change a queue (and, given ``analysts``, who works it), with an audit entry
    of what changed; a save that changes nothing records nothing."""
    creating = queue.pk is None
    before = {} if creating else queue_snapshot(Queue.objects.select_for_update().get(pk=queue.pk))
    queue.full_clean()
    queue.save()
    if analysts is not None:
        queue.analysts.set(list(analysts))
    changes = audit_changes(before, queue_snapshot(queue))
    if changes:
        action = "queue.create" if creating else "queue.change"
        audit_record(actor=user, action=action, target=queue, changes=changes)
    return queue


@transaction.atomic
def queue_delete(*, queue: Queue, user: Any) -> None:
    """Delete a queue (one holding cases is protected: ``ProtectedError``), recording what it
    was."""
    before = queue_snapshot(queue)
    audit_record(
        actor=user,
        action="queue.delete",
        target=queue,
        changes={key: [value, None] for key, value in before.items()},
    )
    queue.delete()
