"""Writes to the policy: rules, list entries, thresholds. Each change bumps the revision."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from rules.engine import InvalidRule, compile_expression
from rules.models import (
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


def policy_bump() -> None:
    """Tell every worker the policy changed (they reload within RULESET_REFRESH_SECONDS)."""
    updated = PolicyRevision.objects.filter(pk=1).update(revision=F("revision") + 1)
    if not updated:
        PolicyRevision.objects.get_or_create(pk=1, defaults={"revision": 1})


@transaction.atomic
def rule_save(*, rule: Rule, user: User = None) -> Rule:
    """Create or change a rule; a change to what it does makes a new version."""
    rule_expression_validate(rule.expression)
    if rule.pk is not None:
        before = Rule.objects.select_for_update().get(pk=rule.pk)
        if all(getattr(before, f) == getattr(rule, f) for f in _VERSIONED_FIELDS):
            rule.save()
            return rule
        rule.version = before.version + 1
    rule.full_clean()
    rule.save()
    RuleVersion.objects.create(
        rule=rule,
        version=rule.version,
        created_by=_user_or_none(user),
        **{name: getattr(rule, name) for name in _VERSIONED_FIELDS},
    )
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
def list_entry_save(*, entry: ListEntry, user: User = None) -> ListEntry:
    entry.value = list_value_normalize(entry.entity, entry.value)
    if entry.pk is None:
        entry.created_by = _user_or_none(user)
    entry.full_clean()
    entry.save()
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
    entry = ListEntry(
        list_type=list_type, entity=entity, value=value, reason=reason, expires_at=expires_at
    )
    return list_entry_save(entry=entry, user=user)


@transaction.atomic
def list_entry_delete(*, entry: ListEntry) -> None:
    entry.delete()
    policy_bump()


@transaction.atomic
def thresholds_set(*, review_at: float, decline_at: float) -> ScoreThresholds:
    """Put new score thresholds in force. Raises ValidationError (on ``review_at``) when review
    exceeds decline, or a threshold is outside 0..1; nothing is saved then."""
    thresholds, _ = ScoreThresholds.objects.get_or_create(pk=1)
    thresholds.review_at, thresholds.decline_at = review_at, decline_at
    thresholds.full_clean()  # ScoreThresholds.clean() checks review ≤ decline
    thresholds.save()
    policy_bump()
    return thresholds


@transaction.atomic
def rule_delete(*, rule: Rule) -> None:
    rule.delete()
    policy_bump()


def _user_or_none(user: User) -> AuthUser | None:
    return user if isinstance(user, AuthUser) else None
