"""Which model decides: every change of a model version's status or canary share.

The one home of these changes (the admin's buttons, the ``train_model`` command, the demo and
scheduled jobs all call it). Each change and its audit entry (``fraudops.audit``: who, why,
from what to what) commit together in one transaction; workers follow within
``MODEL_REFRESH_SECONDS`` (``scoring.serving.ActiveModel``).

- ``model_shadow_start``: candidate → shadow (the shadow in place, if any, → rejected);
- ``model_canary_set``: the shadow decides a share of live traffic (0..1);
- ``model_kill_switch``: every canary share → 0, all traffic to the champion;
- ``model_promote``: candidate, shadow or retired → champion (the champion → retired);
- ``model_rollback``: the previous champion (retired) → champion (the champion → retired);
- ``model_reject``: candidate or shadow → rejected.

A person (``actor`` a user) must give a reason; the system (``actor`` None, a scheduled job or
a command) passes its own.

Errors (all raised before anything is written)::

    LifecycleError            a change refused; the message says why, in words
    ├── ReasonRequired        no reason given (by a person, or by the calling code)
    ├── TransitionRefused     the version's status does not allow it (say, rejecting a champion)
    ├── ModelNotPromotable    serving would refuse it, or its quality could not be measured
    ├── NoPreviousChampion    a rollback with no retired champion to go back to
    └── CanaryShareInvalid    a share outside 0..1 (or not a number)
"""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction
from django.utils import timezone

from fraudops.audit.services import audit_record
from scoring.models import ModelStatus, ModelVersion

__all__ = [
    "CanaryShareInvalid",
    "LifecycleError",
    "ModelNotPromotable",
    "NoPreviousChampion",
    "ReasonRequired",
    "TransitionRefused",
    "model_actions_allowed",
    "model_canary_set",
    "model_kill_switch",
    "model_promote",
    "model_reject",
    "model_rollback",
    "model_shadow_start",
]


class LifecycleError(Exception):
    """A model lifecycle change refused (nothing was changed)."""


class ReasonRequired(LifecycleError):
    """A change of which model decides without a reason."""


class TransitionRefused(LifecycleError):
    """The version's current status does not allow this change."""


class ModelNotPromotable(LifecycleError):
    """A version that serving would refuse, or whose quality could not be measured."""


class NoPreviousChampion(LifecycleError):
    """A rollback asked for, but no earlier champion is retired to go back to."""


class CanaryShareInvalid(LifecycleError):
    """A canary share that is not a number from 0 to 1."""


_PROMOTABLE_FROM = (ModelStatus.CANDIDATE, ModelStatus.SHADOW, ModelStatus.RETIRED)
_REJECTABLE_FROM = (ModelStatus.CANDIDATE, ModelStatus.SHADOW)


def model_actions_allowed(version: ModelVersion) -> list[str]:
    """What may be done to ``version`` now, by name (the admin page shows these buttons):
    "shadow_start", "promote", "reject", "canary"."""
    status = version.status
    allowed = {
        "shadow_start": status == ModelStatus.CANDIDATE,
        "promote": status in _PROMOTABLE_FROM,
        "reject": status in _REJECTABLE_FROM,
        "canary": status == ModelStatus.SHADOW,
    }
    return [name for name, ok in allowed.items() if ok]


@transaction.atomic
def model_shadow_start(*, version: ModelVersion, actor: Any, reason: str) -> ModelVersion:
    """Put a candidate in shadow: it scores live decisions beside the champion, deciding
    none until a canary share is set. A version already in shadow is rejected as superseded
    (one shadow at a time). Refused for a version serving would not load (no file hash)."""
    why = _reason(actor, reason)
    target = _locked(version)
    _require(target, (ModelStatus.CANDIDATE,), "start a shadow for")
    if not target.sha256:
        raise ModelNotPromotable(f"{target.name} has no SHA-256 of its file: it never loads")
    current = ModelVersion.objects.select_for_update().filter(status=ModelStatus.SHADOW).first()
    if current is not None:
        _move(current, ModelStatus.REJECTED, actor, "model.reject", why, superseded_by=target.name)
    return _move(target, ModelStatus.SHADOW, actor, "model.shadow_start", why)


@transaction.atomic
def model_promote(*, version: ModelVersion, actor: Any, reason: str) -> ModelVersion:
    """Make ``version`` (a shadow, a candidate or a retired version) the champion; the
    champion it replaces is retired. Workers switch within MODEL_REFRESH_SECONDS.

    Refused (ModelNotPromotable) for a version with no file hash, which serving never loads,
    and for one whose validation metrics are not computable (say, no fraud in the validation
    window): nobody could tell whether it is better or worse than the model in place.
    """
    why = _reason(actor, reason)
    target = _locked(version)
    _require(target, _PROMOTABLE_FROM, "promote")
    _require_servable(target)
    return _crown(target, actor, "model.promote", why)


@transaction.atomic
def model_rollback(*, actor: Any, reason: str) -> ModelVersion:
    """Bring back the previous champion (the retired version promoted most recently); the
    current champion is retired. Returns the champion restored."""
    why = _reason(actor, reason)
    previous = ModelVersion.objects.select_for_update().previous_champions().first()
    if previous is None:
        raise NoPreviousChampion("no earlier champion to roll back to: none was ever retired")
    _require_servable(previous)
    return _crown(previous, actor, "model.rollback", why)


@transaction.atomic
def model_reject(*, version: ModelVersion, actor: Any, reason: str) -> ModelVersion:
    """Reject a candidate or a shadow: it will not decide (its canary share goes to 0)."""
    why = _reason(actor, reason)
    target = _locked(version)
    _require(target, _REJECTABLE_FROM, "reject")
    return _move(target, ModelStatus.REJECTED, actor, "model.reject", why)


@transaction.atomic
def model_canary_set(
    *, version: ModelVersion, share: float, actor: Any, reason: str
) -> ModelVersion:
    """Let the shadow version decide ``share`` (0..1) of live traffic instead of the champion
    (a stable hash of each transaction: ``scoring.canary``). 0 is shadow only.

    A share above 0 puts real decisions in its hands, so it is refused, as a promotion is,
    for a version whose quality could not be measured.
    """
    why = _reason(actor, reason)
    if not isinstance(share, int | float) or math.isnan(share) or not 0.0 <= share <= 1.0:
        raise CanaryShareInvalid(f"canary share must be a number from 0 to 1, not {share!r}")
    target = _locked(version)
    _require(target, (ModelStatus.SHADOW,), "set a canary share for")
    if share > 0:
        _require_servable(target)
    before = target.canary_share
    target.canary_share = float(share)
    target.save(update_fields=["canary_share"])
    audit_record(
        actor=actor,
        action="model.canary",
        target=target,
        reason=why,
        changes={"canary_share": {"from": before, "to": target.canary_share}},
    )
    return target


@transaction.atomic
def model_kill_switch(*, actor: Any, reason: str) -> int:
    """Every canary share to 0 at once: all traffic back to the champion within
    MODEL_REFRESH_SECONDS. Returns how many versions had a share (each gets an audit entry;
    with none, nothing changed and nothing is recorded)."""
    why = _reason(actor, reason)
    on_canary = list(ModelVersion.objects.select_for_update().filter(canary_share__gt=0))
    for version in on_canary:
        before = version.canary_share
        version.canary_share = 0.0
        version.save(update_fields=["canary_share"])
        audit_record(
            actor=actor,
            action="model.kill_switch",
            target=version,
            reason=why,
            changes={"canary_share": {"from": before, "to": 0.0}},
        )
    return len(on_canary)


def _reason(actor: Any, reason: str) -> str:
    why = (reason or "").strip()
    if not why:
        who = "the system" if actor is None else actor.get_username()
        raise ReasonRequired(f"a reason is required ({who} gave none)")
    return why


def _locked(version: ModelVersion) -> ModelVersion:
    # Read again under a row lock: the caller's instance may be stale, and two people
    # pressing buttons at once must not both see the old status.
    return ModelVersion.objects.select_for_update().get(pk=version.pk)


def _require(version: ModelVersion, allowed: tuple[ModelStatus, ...], verb: str) -> None:
    if version.status not in allowed:
        names = ", ".join(str(status) for status in allowed)
        raise TransitionRefused(
            f"cannot {verb} {version.name}: it is {version.status} (only {names})"
        )


def _require_servable(version: ModelVersion) -> None:
    if not version.sha256:
        raise ModelNotPromotable(f"{version.name} has no SHA-256 of its file: it never loads")
    not_computable = (version.metrics or {}).get("not_computable") or {}
    if not_computable:
        reasons = "; ".join(f"{name}: {why}" for name, why in sorted(not_computable.items()))
        raise ModelNotPromotable(
            f"{version.name} is not promoted: its metrics are not computable ({reasons}). "
            "Train again when the validation window holds labelled fraud."
        )


def _crown(target: ModelVersion, actor: Any, action: str, why: str) -> ModelVersion:
    """``target`` becomes the champion; the champion in place (if any) is retired first (the
    database allows one champion at a time)."""
    current = (
        ModelVersion.objects.select_for_update()
        .filter(status=ModelStatus.CHAMPION)
        .exclude(pk=target.pk)
        .first()
    )
    if current is not None:
        _move(current, ModelStatus.RETIRED, actor, "model.retire", why, replaced_by=target.name)
    return _move(
        target,
        ModelStatus.CHAMPION,
        actor,
        action,
        why,
        replaced=None if current is None else current.name,
    )


def _move(
    version: ModelVersion,
    status: ModelStatus,
    actor: Any,
    action: str,
    why: str,
    **context: str | None,
) -> ModelVersion:
    """Change ``version``'s status and record it. A version leaving shadow stops deciding
    its canary share."""
    before = version.status
    now = timezone.now()
    version.status = status
    version.status_changed_at = now
    version.canary_share = 0.0
    fields = ["status", "status_changed_at", "canary_share"]
    if status == ModelStatus.CHAMPION:
        version.promoted_at = now
        fields.append("promoted_at")
    version.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=action,
        target=version,
        reason=why,
        changes={"status": {"from": str(before), "to": str(status)}, **context},
    )
    return version
