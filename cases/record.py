"""The record of a case: every change is a :class:`CaseEvent`, and the queue's pages are told
after the commit. Opening a case and working it (``opening``, ``services``) both write here."""

from __future__ import annotations

from typing import Any

from cases.events import case_changed_on_commit
from cases.models import Case, CaseEvent


def case_event_record(
    case: Case,
    actor: Any,
    action: str,
    *,
    from_status: str,
    from_assignee: str = "",
    to_assignee: str | None = None,
    reason: str = "",
) -> None:
    """Append what happened to ``case`` (its status and assignee as they are now) and tell the
    queue's pages once the transaction commits. ``actor`` None: the system did it."""
    assignee = case.assignee.get_username() if case.assignee else ""
    CaseEvent.objects.create(
        case=case,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=case.status,
        from_assignee=from_assignee,
        to_assignee=assignee if to_assignee is None else to_assignee,
        reason=reason,
    )
    case_changed_on_commit(
        case_id=case.pk, queue_id=case.queue_id, status=case.status, assignee=assignee
    )
