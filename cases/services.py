"""Working a case: claims and leases, verdicts, lead tools, comments. Every state change
records a :class:`CaseEvent` and tells the queue's pages after the commit (``cases.record``).
How a case is opened is ``cases.opening``.

Errors::

    CaseError            the change is not allowed now (message says why)
    ValidationError      a field is missing or wrong (e.g. a reassignment without a reason)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import BLOCKABLE, Case, CaseComment, CaseStatus, Verdict
from cases.record import case_event_record
from cases.roles import can_lead, can_work
from cases.selectors import queues_of
from rules.models import ListEntry, ListType
from rules.services import list_entry_create
from scoring.labels import label_add
from scoring.models import LabelSource


class CaseError(Exception):
    """The change is not allowed in the case's current state, or not by this user."""


# --- claiming --------------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(minutes=settings.CASE_LEASE_MINUTES)


def case_claim_next(*, user: Any) -> Case | None:
    """Claim the highest-priority open case of the user's queues, or None when there is none.

    On PostgreSQL the candidate row is locked with SKIP LOCKED, so concurrent callers each get
    a different case without waiting; the conditional update makes it safe on SQLite too.
    """
    queue_ids = list(queues_of(user).values_list("pk", flat=True))
    for _ in range(5):
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=CaseStatus.OPEN, queue_id__in=queue_ids)
                .order_by("-priority", "created_at", "pk")
                .first()
            )
            if case is None:
                return None
            if _claim(case, user):
                return case
    return None


def case_claim(*, case: Case, user: Any) -> None:
    """Claim one case from the list (it must be open)."""
    with transaction.atomic():
        if not _claim(case, user):
            raise CaseError("This case is no longer open: someone else has it.")


def _claim(case: Case, user: Any) -> bool:
    lease_until = timezone.now() + _lease()
    claimed = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
        status=CaseStatus.CLAIMED, assignee=user, lease_expires_at=lease_until
    )
    if claimed != 1:
        return False
    case.status, case.assignee, case.lease_expires_at = CaseStatus.CLAIMED, user, lease_until
    case_event_record(
        case, user, "claimed", from_status=CaseStatus.OPEN, to_assignee=user.get_username()
    )
    return True


def case_lease_renew(*, case: Case, user: Any) -> None:
    """The assignee is still working: extend the lease."""
    renewed = Case.objects.filter(pk=case.pk, status=CaseStatus.CLAIMED, assignee=user).update(
        lease_expires_at=timezone.now() + _lease()
    )
    if renewed != 1:
        raise CaseError("Only the analyst holding the case can renew its lease.")


def case_leases_release_expired() -> int:
    """Return claimed cases whose lease ran out to their queue (run by beat)."""
    released = 0
    now = timezone.now()
    expired = Case.objects.filter(status=CaseStatus.CLAIMED, lease_expires_at__lt=now)
    for case in expired.select_related("assignee"):
        with transaction.atomic():
            updated = Case.objects.filter(
                pk=case.pk, status=CaseStatus.CLAIMED, lease_expires_at__lt=now
            ).update(status=CaseStatus.OPEN, assignee=None, lease_expires_at=None)
            if updated:
                holder = case.assignee.get_username() if case.assignee else ""
                case.status, case.assignee = CaseStatus.OPEN, None
                case_event_record(
                    case, None, "lease expired", from_status=CaseStatus.CLAIMED,
                    from_assignee=holder, reason="the lease ran out",
                )  # fmt: skip
                released += 1
    return released


# --- deciding --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictGiven:
    case: Case
    label_created: bool
    blocked: tuple[str, ...]


def case_verdict(
    *,
    case: Case,
    user: Any,
    verdict: str,
    note: str = "",
    block: Sequence[str] = (),
) -> VerdictGiven:
    """Decide a case: fraud or legit becomes a training label (source: analyst); with
    ``block``, the case's card, device, IP address or e-mail go on the block list too."""
    if verdict not in Verdict.values:
        raise ValidationError({"verdict": f"Choose one of {', '.join(Verdict.values)}."})
    unknown = sorted(set(block) - set(BLOCKABLE))
    if unknown:
        raise ValidationError({"block": f"Cannot block {', '.join(unknown)}."})
    with transaction.atomic():
        locked = (
            Case.objects.select_for_update().select_related("decision__transaction").get(pk=case.pk)
        )
        _may_decide(locked, user)
        previous = locked.status
        locked.status, locked.verdict, locked.verdict_note = CaseStatus.DECIDED, verdict, note
        locked.decided_at, locked.lease_expires_at = timezone.now(), None
        if locked.assignee_id is None:
            locked.assignee = user
        locked.save()
        txn = locked.decision.transaction
        if verdict != Verdict.INCONCLUSIVE:
            label_add(transaction=txn, label=verdict, source=LabelSource.ANALYST)
        blocked = tuple(
            entity
            for entity in block
            if _block(entity, getattr(txn, BLOCKABLE[entity]) or "", case=locked, user=user)
        )
        reason = note + (f" (blocked: {', '.join(blocked)})" if blocked else "")
        case_event_record(locked, user, f"verdict {verdict}", from_status=previous, reason=reason)
    return VerdictGiven(locked, verdict != Verdict.INCONCLUSIVE, blocked)


def _may_decide(case: Case, user: Any) -> None:
    if case.status == CaseStatus.DECIDED:
        raise CaseError("This case is already decided.")
    if can_lead(user):
        return
    if case.status != CaseStatus.CLAIMED or case.assignee_id != user.pk:
        raise CaseError("Claim the case before giving a verdict.")


def _block(entity: str, value: str, *, case: Case, user: Any) -> bool:
    value = str(value)
    if (
        not value
        or ListEntry.objects.filter(list_type=ListType.BLOCK, entity=entity, value=value).exists()
    ):
        return False
    list_entry_create(
        list_type=ListType.BLOCK, entity=entity, value=value,
        reason=f"Case {case.pk}: {case.verdict_note}".strip(": "), user=user,
    )  # fmt: skip
    return True


def cases_bulk_verdict(
    *, cases: Iterable[Case], lead: Any, verdict: str, note: str
) -> list[VerdictGiven]:
    """Decide each case that is still undecided; one decided meanwhile is skipped."""
    if not can_lead(lead):
        raise CaseError("Only a lead can decide cases in bulk.")
    if not note.strip():
        raise ValidationError({"note": "A bulk verdict needs a note."})
    given = []
    for case in cases:
        try:
            given.append(case_verdict(case=case, user=lead, verdict=verdict, note=note))
        except CaseError:
            continue  # decided by someone else since the page was drawn
    return given


# --- lead tools ------------------------------------------------------------------------------


def _locked_undecided(case: Case) -> Case:
    """The case's current row, locked for this transaction; refused once it is decided."""
    locked = Case.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=case.pk)
    if locked.status == CaseStatus.DECIDED:
        raise CaseError("This case is already decided.")
    return locked


def case_reassign(*, case: Case, lead: Any, to_user: Any, reason: str) -> None:
    if not can_lead(lead):
        raise CaseError("Only a lead can reassign a case.")
    if not reason.strip():
        raise ValidationError({"reason": "A reassignment needs a reason."})
    if not can_work(to_user) or not queues_of(to_user).filter(pk=case.queue_id).exists():
        raise ValidationError({"to_user": f"{to_user} does not work the queue {case.queue}."})
    with transaction.atomic():
        locked = _locked_undecided(case)
        previous_status = locked.status
        holder = locked.assignee.get_username() if locked.assignee else ""
        locked.status, locked.assignee = CaseStatus.CLAIMED, to_user
        locked.lease_expires_at = timezone.now() + _lease()
        locked.save(update_fields=["status", "assignee", "lease_expires_at"])
        case_event_record(
            locked, lead, "reassigned", from_status=previous_status, from_assignee=holder,
            to_assignee=to_user.get_username(), reason=reason,
        )  # fmt: skip


def case_escalate(*, case: Case, user: Any, reason: str) -> None:
    """The holder (or a lead) hands the case to the leads, with a reason."""
    if not reason.strip():
        raise ValidationError({"reason": "An escalation needs a reason."})
    with transaction.atomic():
        locked = _locked_undecided(case)
        if not can_lead(user) and locked.assignee_id != user.pk:
            raise CaseError("Only the analyst holding the case, or a lead, can escalate it.")
        previous = locked.status
        holder = locked.assignee.get_username() if locked.assignee else ""
        locked.status, locked.assignee, locked.lease_expires_at = CaseStatus.ESCALATED, None, None
        locked.save(update_fields=["status", "assignee", "lease_expires_at"])
        case_event_record(
            locked, user, "escalated", from_status=previous, from_assignee=holder, reason=reason
        )


def case_comment(*, case: Case, user: Any, text: str) -> CaseComment:
    if not text.strip():
        raise ValidationError({"text": "A comment cannot be empty."})
    return CaseComment.objects.create(case=case, author=user, text=text.strip())
