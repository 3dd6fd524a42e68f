"""The policy in force, cached per worker process.

A worker checks the policy revision at most every ``RULESET_REFRESH_SECONDS`` (one tiny
query) and rebuilds its :class:`~rules.policy.Policy` only when the revision moved or a
list entry expired. A rule that no longer compiles is left out and logged, never fatal.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from rules.engine import Action, InvalidRule, RuleMode, RuleSet, RuleSpec, compile_expression
from rules.models import ListEntry, PolicyRevision, Rule
from rules.policy import Lists, Policy, Thresholds
from rules.selectors import thresholds_stored
from scoring.transaction import RULE_FACTS

logger = logging.getLogger(__name__)


@dataclass
class _Cached:
    policy: Policy
    checked_at: float
    valid_until: datetime | None


_lock = threading.Lock()
_cached: _Cached | None = None


def current_revision() -> int:
    revision = PolicyRevision.objects.filter(pk=1).values_list("revision", flat=True).first()
    return revision or 0


def policy_load(revision: int | None = None) -> Policy:
    """Build the policy from the database, now."""
    now = timezone.now()
    specs, descriptions = [], {}
    for rule in Rule.objects.exclude(mode=RuleMode.DISABLED):
        try:
            compile_expression(rule.expression, RULE_FACTS)
            spec = RuleSpec(
                rule.name, rule.version, rule.expression, Action(rule.action),
                mode=RuleMode(rule.mode), rollout_percent=rule.rollout_percent,
            )  # fmt: skip
        except InvalidRule as exc:
            logger.error("rule %s v%s left out: %s", rule.name, rule.version, exc)
            continue
        specs.append(spec)
        descriptions[rule.name] = rule.description
    live = ListEntry.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    entries = {
        (e.list_type, e.entity, e.value): e.pk
        for e in live.only("pk", "list_type", "entity", "value")
    }
    stored = thresholds_stored()
    return Policy(
        revision=current_revision() if revision is None else revision,
        rules=RuleSet(specs, RULE_FACTS),
        lists=Lists(entries),
        thresholds=Thresholds(review=stored.review_at, decline=stored.decline_at),
        rule_descriptions=descriptions,
    )


def _next_expiry() -> datetime | None:
    now = timezone.now()
    return (
        ListEntry.objects.filter(expires_at__gt=now)
        .order_by("expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )


def current_policy() -> Policy:
    """The policy this worker decides with; refreshed when an admin changes it.

    No lock is held while the database is read: a thread that held one while it waited for a
    pooled connection would stall every other thread, each holding a connection and waiting
    for the lock. Two threads that find the policy stale at once may both rebuild it; the
    newer revision wins.
    """
    global _cached
    cached = _cached
    now = time.monotonic()
    if cached and now - cached.checked_at < settings.RULESET_REFRESH_SECONDS:
        return cached.policy
    revision = current_revision()
    expired = cached and cached.valid_until and cached.valid_until <= timezone.now()
    if cached and cached.policy.revision == revision and not expired:
        cached.checked_at = now
        return cached.policy
    fresh = _Cached(policy_load(revision), now, _next_expiry())
    with _lock:
        if _cached is None or _cached.policy.revision <= revision:
            _cached = fresh
        return _cached.policy


def policy_cache_clear() -> None:
    global _cached
    with _lock:
        _cached = None
