"""Policy drafts and four-eyes publishing: the writes (``rules.draft_changes`` is the pure part).

An edit of a rule, of the thresholds or of list entries in admin goes into its author's open
draft; nothing changes in force until someone else, holding ``rules.publish_policy``,
publishes it. A publish applies the whole draft in one transaction, bumps the policy revision
once (workers pick it up within RULESET_REFRESH_SECONDS) and records an audit entry with who,
when, why and the diff. A rollback is a new draft that puts an earlier publish's rules and
thresholds back; it is published like any other.

Errors::

    DraftError
    ├── DraftNotOpen       the draft was published or discarded: it cannot change
    └── PublishRefused     not allowed to publish this draft (who, or no backtest of it)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fraudops.audit.services import audit_record
from rules import draft_changes as dc
from rules import services
from rules.draft_changes import Changes, ListChange, RuleChange
from rules.models import (
    BacktestStatus,
    DraftStatus,
    ImmutableVersion,
    ListEntry,
    PolicyDraft,
    Rule,
    RuleAction,
    RuleMode,
    ScoreThresholds,
)
from rules.policy import InvertedThresholds, Thresholds
from rules.selectors import thresholds_stored

PUBLISH = "rules.publish_policy"


class DraftError(Exception):
    """Base class of the drafts' errors."""


class DraftNotOpen(DraftError):
    """The draft was published or discarded."""


class PublishRefused(DraftError):
    """This person may not publish this draft now."""


def draft_open(*, user: Any) -> PolicyDraft:
    """The author's open draft (the newest), or a new one."""
    found = (
        PolicyDraft.objects.select_for_update()
        .filter(author=user, status=DraftStatus.DRAFT, rollback_of__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    return found or PolicyDraft.objects.create(author=user, changes=dc.changes_from(None))


def _changed(draft: PolicyDraft, changes: Changes) -> PolicyDraft:
    if draft.status != DraftStatus.DRAFT:
        raise DraftNotOpen(f"{draft} can no longer change")
    draft.changes = changes
    draft.save(update_fields=["changes", "updated_at"])
    return draft


@transaction.atomic
def draft_rule_propose(
    *,
    user: Any,
    name: str,
    expression: str,
    action: str,
    description: str = "",
    mode: str = RuleMode.LIVE,
    rollout_percent: int | None = None,
    draft: PolicyDraft | None = None,
) -> PolicyDraft:
    """Propose a new rule or an edit of one. Raises ValidationError naming the field."""
    services.rule_expression_validate(expression)
    if action not in RuleAction.values:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    proposed = Rule(
        name=name, expression=expression, action=action, mode=mode,
        rollout_percent=rollout_percent,
    )  # fmt: skip
    proposed.clean_fields(exclude=["description", "version"])  # the name's pattern, the mode
    proposed.clean()  # a rollout needs its percentage, any other mode none
    change = RuleChange(
        name=name, expression=expression, action=action, description=description,
        mode=str(mode), rollout_percent=rollout_percent,
    )  # fmt: skip
    target = draft or draft_open(user=user)
    return _changed(target, dc.with_rule(dc.changes_from(target.changes), change))


@transaction.atomic
def draft_rule_remove_propose(*, user: Any, name: str) -> PolicyDraft:
    draft = draft_open(user=user)
    published = Rule.objects.filter(name=name).exists()
    return _changed(
        draft, dc.without_rule(dc.changes_from(draft.changes), name, published=published)
    )


@transaction.atomic
def draft_thresholds_propose(*, user: Any, review_at: float, decline_at: float) -> PolicyDraft:
    """Propose score thresholds. Raises ValidationError (on ``review_at``) when review exceeds
    decline or either is outside 0..1."""
    for field, value in (("review_at", review_at), ("decline_at", decline_at)):
        if not 0.0 <= value <= 1.0:
            raise ValidationError({field: "A threshold is a number from 0 to 1."})
    try:
        Thresholds.check(review_at, decline_at)
    except InvertedThresholds as exc:
        raise ValidationError({"review_at": str(exc)}) from exc
    draft = draft_open(user=user)
    changes = dc.changes_from(draft.changes)
    changes["thresholds"] = dc.ThresholdsChange(review_at=review_at, decline_at=decline_at)
    return _changed(draft, changes)


def _list_change(
    list_type: str, entity: str, value: str, reason: str = "", expires_at: datetime | None = None
) -> ListChange:
    entry = ListEntry(
        list_type=list_type, entity=entity, reason=reason, expires_at=expires_at,
        value=services.list_value_normalize(entity, value),
    )  # fmt: skip
    entry.clean_fields(exclude=["created_by"])
    return ListChange(
        list_type=entry.list_type, entity=entry.entity, value=entry.value, reason=entry.reason,
        expires_at=None if expires_at is None else expires_at.isoformat(),
    )  # fmt: skip


@transaction.atomic
def draft_list_add_propose(
    *,
    user: Any,
    entries: list[tuple[str, str, str, str, datetime | None]],
    draft: PolicyDraft | None = None,
) -> PolicyDraft:
    """Propose list entries (list_type, entity, value, reason, expires_at) in bulk. Raises
    ValidationError naming the field of the first invalid one; nothing is proposed then."""
    draft = draft or draft_open(user=user)
    changes = dc.changes_from(draft.changes)
    for list_type, entity, value, reason, expires_at in entries:
        changes = dc.with_list_add(
            changes, _list_change(list_type, entity, value, reason, expires_at)
        )
    return _changed(draft, changes)


@transaction.atomic
def draft_list_remove_propose(*, user: Any, entries: list[ListEntry]) -> PolicyDraft:
    draft = draft_open(user=user)
    changes = dc.changes_from(draft.changes)
    for entry in entries:
        change = ListChange(list_type=entry.list_type, entity=entry.entity, value=entry.value)
        changes = dc.with_list_remove(changes, change, published=entry.pk is not None)
    return _changed(draft, changes)


@transaction.atomic
def draft_reason_set(*, draft: PolicyDraft, reason: str) -> PolicyDraft:
    locked = PolicyDraft.objects.select_for_update().get(pk=draft.pk)
    if locked.status != DraftStatus.DRAFT:
        raise DraftNotOpen(f"{locked} can no longer change")
    locked.reason = reason.strip()
    locked.save(update_fields=["reason", "updated_at"])
    return locked


@transaction.atomic
def draft_discard(*, draft: PolicyDraft, user: Any) -> PolicyDraft:
    locked = PolicyDraft.objects.select_for_update().get(pk=draft.pk)
    if locked.status != DraftStatus.DRAFT:
        raise DraftNotOpen(f"{locked} was already {locked.status}")
    locked.status = DraftStatus.DISCARDED
    locked.save(update_fields=["status", "updated_at"])
    audit_record(actor=user, action="policy.discard", target=locked, reason=locked.reason)
    return locked


def draft_content_hash(draft: PolicyDraft) -> str:
    return dc.changes_hash(dc.changes_from(draft.changes))


def draft_backtested(draft: PolicyDraft) -> bool:
    """A finished backtest of the draft's current content is stored."""
    return draft.backtests.filter(
        status=BacktestStatus.DONE, content_hash=draft_content_hash(draft)
    ).exists()


def publish_refusal(*, draft: PolicyDraft, user: Any) -> str | None:
    """Why ``user`` may not publish ``draft`` now (None: they may)."""
    if draft.status != DraftStatus.DRAFT:
        return f"This draft was already {draft.status}."
    if not (user.is_authenticated and user.has_perm(PUBLISH)):
        return "Publishing needs the publish permission (leads and admins)."
    if user.pk == draft.author_id:
        return "A draft is published by someone other than its author (four eyes)."
    if dc.changes_empty(dc.changes_from(draft.changes)):
        return "This draft changes nothing."
    if not draft.reason.strip():
        return "Say why (the draft's reason) before it is published."
    if settings.BACKTEST_REQUIRED_TO_PUBLISH and not draft_backtested(draft):
        return "Run a backtest of this draft as it is now before publishing it."
    return None


@transaction.atomic
def draft_publish(*, draft: PolicyDraft, user: Any) -> PolicyDraft:
    """Put the draft in force, all of it or none. Raises :class:`PublishRefused`."""
    locked = PolicyDraft.objects.select_for_update().get(pk=draft.pk)
    refusal = publish_refusal(draft=locked, user=user)
    if refusal:
        raise PublishRefused(refusal)
    changes = dc.changes_from(locked.changes)
    try:
        diff = _apply(changes, user)
    except (ValidationError, ImmutableVersion) as exc:
        # Valid when proposed, not now (a fact renamed, a version republished): nothing of
        # it is applied, as this transaction rolls back.
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        raise PublishRefused("This draft cannot be applied: " + " ".join(messages)) from exc
    revision = services.policy_bump()
    locked.status = DraftStatus.PUBLISHED
    locked.published_at, locked.published_by = timezone.now(), user
    locked.published_revision, locked.diff = revision, diff
    locked.snapshot = policy_snapshot()
    locked.save()
    audit_record(
        actor=user,
        action="policy.rollback" if locked.rollback_of_id else "policy.publish",
        target=locked,
        reason=locked.reason,
        changes={"author": locked.author.get_username(), "revision": revision, **diff},
    )
    return locked


def _apply(changes: Changes, user: Any) -> dict[str, Any]:
    """Apply ``changes``; returns the diff (before → after) of what they changed."""
    diff: dict[str, Any] = {"rules": _apply_rules(changes, user), "thresholds": None}
    if changes["thresholds"] is not None:
        stored = thresholds_stored()
        diff["thresholds"] = {
            "from": {"review_at": stored.review_at, "decline_at": stored.decline_at},
            "to": changes["thresholds"],
        }
        services.thresholds_set(**changes["thresholds"], bump=False)
    diff["list_remove"], diff["list_add"] = _apply_lists(changes, user)
    return diff


def _apply_rules(changes: Changes, user: Any) -> dict[str, Any]:
    diff: dict[str, Any] = {}
    for name in changes["remove_rules"]:
        rule = Rule.objects.filter(name=name).first()
        if rule is not None:
            diff[name] = {"from": _rule_record(rule), "to": None}
            services.rule_delete(rule=rule, bump=False)
    for change in changes["rules"]:
        rule = Rule.objects.filter(name=change["name"]).first()
        before = None if rule is None else _rule_record(rule)
        rule = rule or Rule(name=change["name"])
        rule.expression, rule.action = change["expression"], change["action"]
        rule.description = change["description"]
        rule.mode, rule.rollout_percent = change["mode"], change["rollout_percent"]
        services.rule_save(rule=rule, user=user, restore_version=change.get("version"), bump=False)
        diff[rule.name] = {"from": before, "to": _rule_record(rule)}
    return diff


def _apply_lists(changes: Changes, user: Any) -> tuple[list[ListChange], list[ListChange]]:
    """(entries removed, entries added): one already gone, or already there (an analyst
    blocked it from a verdict meanwhile), is left as it is."""
    removed, added = [], []
    for entry in changes["list_remove"]:
        found = ListEntry.objects.filter(
            list_type=entry["list_type"], entity=entry["entity"], value=entry["value"]
        ).first()
        if found is not None:
            services.list_entry_delete(entry=found, bump=False)
            removed.append(entry)
    for entry in changes["list_add"]:
        key = {"list_type": entry["list_type"], "entity": entry["entity"], "value": entry["value"]}
        if ListEntry.objects.filter(**key).exists():
            continue
        expires = entry.get("expires_at")
        services.list_entry_save(
            entry=ListEntry(
                **key, reason=entry.get("reason", ""),
                expires_at=None if not expires else datetime.fromisoformat(expires),
            ),
            user=user,
            bump=False,
        )  # fmt: skip
        added.append(entry)
    return removed, added


def _rule_record(rule: Rule) -> dict[str, Any]:
    return {
        "version": rule.version, "expression": rule.expression, "action": rule.action,
        "description": rule.description, "mode": rule.mode,
        "rollout_percent": rule.rollout_percent,
    }  # fmt: skip


def policy_snapshot() -> dict[str, Any]:
    """The rules (with their versions) and thresholds in force: what a rollback restores."""
    stored: ScoreThresholds = thresholds_stored()
    return {
        "rules": {rule.name: _rule_record(rule) for rule in Rule.objects.order_by("name")},
        "thresholds": {"review_at": stored.review_at, "decline_at": stored.decline_at},
    }


@transaction.atomic
def draft_rollback(*, to: PolicyDraft, user: Any, reason: str) -> PolicyDraft:
    """A draft that puts the rules and thresholds of the publish ``to`` back in force, each
    rule at the version it had then. List entries are left as they are: analysts add them
    from verdicts between publishes, and a rollback of rules must not unblock those."""
    if to.status != DraftStatus.PUBLISHED or not to.snapshot:
        raise DraftError("Only a published draft can be rolled back to.")
    target = to.snapshot
    now = policy_snapshot()
    changes = dc.changes_from(None)
    for name in now["rules"]:
        if name not in target["rules"]:
            changes["remove_rules"].append(name)
    for name, record in target["rules"].items():
        if now["rules"].get(name) != record:
            changes["rules"].append(
                RuleChange(
                    name=name, expression=record["expression"], action=record["action"],
                    description=record["description"], mode=record["mode"],
                    rollout_percent=record["rollout_percent"], version=record["version"],
                )
            )  # fmt: skip
    if now["thresholds"] != target["thresholds"]:
        review_at, decline_at = (target["thresholds"][k] for k in ("review_at", "decline_at"))
        changes["thresholds"] = dc.ThresholdsChange(review_at=review_at, decline_at=decline_at)
    return PolicyDraft.objects.create(
        author=user,
        reason=reason.strip() or f"Roll back to {to}",
        changes=changes,
        rollback_of=to,
    )
