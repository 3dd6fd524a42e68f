"""Writes to the policy: rules, list entries, thresholds. Each change bumps the revision."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max

from fraudops.audit.services import audit_record
from rules.engine import InvalidRule, compile_expression
from rules.models import (
    ImmutableVersion,
    ListEntity,
    ListEntry,
    PolicyRevision,
    Rule,
    RuleVersion,
    ScoreThresholds,
)
from scoring.pii import email_hash
from scoring.transaction import RULE_FACTS

User = AbstractBaseUser | AnonymousUser | None

# What a version records of its rule; a change to any of them makes a new version.
_VERSIONED_FIELDS = ("expression", "action", "description", "mode", "rollout_percent")


def rule_expression_validate(expression: str) -> None:
    """Raise ValidationError when the expression would not compile against the known facts."""
    try:
        compile_expression(expression, RULE_FACTS)
    except InvalidRule as exc:
        raise ValidationError({"expression": str(exc)}) from exc


def policy_bump() -> int:
    """Tell every worker the policy changed (they reload within RULESET_REFRESH_SECONDS).
    Returns the new revision."""
    updated = PolicyRevision.objects.filter(pk=1).update(revision=F("revision") + 1)
    if not updated:
        PolicyRevision.objects.get_or_create(pk=1, defaults={"revision": 1})
    return PolicyRevision.objects.get(pk=1).revision


@transaction.atomic
def rule_save(
    *, rule: Rule, user: User = None, restore_version: int | None = None, bump: bool = True
) -> Rule:
    """Create or change a rule; a change to what it does makes a new version (one above any
    it had: a rollback may have put an older one back in force).

    ``restore_version`` puts that version back in force (a rollback): its stored content must
    be the rule's, as published versions never change (:class:`ImmutableVersion` otherwise).
    """
    rule_expression_validate(rule.expression)
    if rule.pk is not None:
        before = Rule.objects.select_for_update().get(pk=rule.pk)
        unchanged = all(getattr(before, f) == getattr(rule, f) for f in _VERSIONED_FIELDS)
        if unchanged and restore_version in (None, before.version):
            rule.save()
            return rule
        newest = rule.versions.aggregate(newest=Max("version"))["newest"] or before.version
        rule.version = newest + 1
    if restore_version is not None:
        rule.version = restore_version
    rule.full_clean()
    rule.save()
    content = {name: getattr(rule, name) for name in _VERSIONED_FIELDS}
    stored = RuleVersion.objects.filter(rule=rule, version=rule.version).first()
    if stored is None:
        RuleVersion.objects.create(
            rule=rule, version=rule.version, created_by=_user_or_none(user), **content
        )
    elif any(getattr(stored, name) != value for name, value in content.items()):
        raise ImmutableVersion(f"{rule.name} v{rule.version} was published with other content")
    if bump:  # a draft's publish bumps once for all its changes
        policy_bump()
    return rule


def list_value_normalize(entity: str, value: str) -> str:
    """The stored form of a list value: e-mails as their keyed hash, countries upper-case."""
    value = value.strip()
    if entity == ListEntity.EMAIL and "@" in value:
        return email_hash(value)
    if entity == ListEntity.COUNTRY:
        return value.upper()
    return value


@transaction.atomic
def list_entry_save(*, entry: ListEntry, user: User = None, bump: bool = True) -> ListEntry:
    entry.value = list_value_normalize(entry.entity, entry.value)
    if entry.pk is None:
        entry.created_by = _user_or_none(user)
    entry.full_clean()
    entry.save()
    if bump:  # a draft's publish bumps once for all its changes
        policy_bump()
    return entry


@transaction.atomic
def list_entry_create(
    *,
    list_type: str,
    entity: str,
    value: str,
    reason: str = "",
    expires_at: datetime | None = None,
    user: User = None,
) -> ListEntry:
    """Add one entry now (an analyst's verdict blocks what it names: no draft), audited."""
    entry = ListEntry(
        list_type=list_type, entity=entity, value=value, reason=reason, expires_at=expires_at
    )
    list_entry_save(entry=entry, user=user)
    audit_record(actor=_user_or_none(user), action="list.add", target=entry, reason=reason)
    return entry


@transaction.atomic
def list_entry_delete(*, entry: ListEntry, bump: bool = True) -> None:
    entry.delete()
    if bump:  # a draft's publish bumps once for all its changes
        policy_bump()


@transaction.atomic
def thresholds_set(*, review_at: float, decline_at: float, bump: bool = True) -> ScoreThresholds:
    """Put new score thresholds in force. Raises ValidationError (on ``review_at``) when review
    exceeds decline, or a threshold is outside 0..1; nothing is saved then."""
    thresholds, _ = ScoreThresholds.objects.get_or_create(pk=1)
    thresholds.review_at, thresholds.decline_at = review_at, decline_at
    thresholds.full_clean()  # ScoreThresholds.clean() checks review ≤ decline
    thresholds.save()
    if bump:  # a draft's publish bumps once for all its changes
        policy_bump()
    return thresholds


@transaction.atomic
def rule_delete(*, rule: Rule, bump: bool = True) -> None:
    rule.delete()
    if bump:  # a draft's publish bumps once for all its changes
        policy_bump()


def _user_or_none(user: User) -> AuthUser | None:
    return user if isinstance(user, AuthUser) else None
