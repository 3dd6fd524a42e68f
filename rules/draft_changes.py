"""What a policy draft proposes, and that proposal applied to a policy (pure, no Django).

A draft's ``changes`` hold rule upserts (by name), rule removals, new score thresholds, and
list entries to add or remove. :func:`policy_with_changes` applies them on top of the
published :class:`~rules.policy.Policy`: the candidate a backtest re-decides history with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from rules.engine import Action, FactType, RuleMode, RuleSet, RuleSpec
from rules.policy import Lists, Policy, Thresholds

# The version a draft's new or edited rule carries in a backtest (not yet published).
DRAFT_VERSION = 0


class RuleChange(TypedDict):
    name: str
    expression: str
    action: str
    description: str
    mode: str  # a rules.engine.RuleMode value
    rollout_percent: int | None
    # A rollback restores this published version (its number and content) instead of a new one.
    version: NotRequired[int]


class ThresholdsChange(TypedDict):
    review_at: float
    decline_at: float


class ListChange(TypedDict):
    list_type: str
    entity: str
    value: str  # normalised (e-mails as their keyed hash)
    reason: NotRequired[str]
    expires_at: NotRequired[str | None]  # ISO 8601


class Changes(TypedDict):
    rules: list[RuleChange]
    remove_rules: list[str]
    thresholds: ThresholdsChange | None
    list_add: list[ListChange]
    list_remove: list[ListChange]


def changes_from(raw: Mapping[str, Any] | None) -> Changes:
    """A draft's stored changes with every key present."""
    raw = raw or {}
    return Changes(
        rules=list(raw.get("rules", [])),
        remove_rules=list(raw.get("remove_rules", [])),
        thresholds=raw.get("thresholds"),
        list_add=list(raw.get("list_add", [])),
        list_remove=list(raw.get("list_remove", [])),
    )


def changes_empty(changes: Changes) -> bool:
    return not any(changes.values())


def changes_hash(changes: Changes) -> str:
    """What a backtest tested: a later edit of the draft gives another hash."""
    canonical = json.dumps(changes, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_rule(changes: Changes, change: RuleChange) -> Changes:
    """``changes`` with ``change`` in place of any earlier proposal for the same rule."""
    rules = [c for c in changes["rules"] if c["name"] != change["name"]]
    removals = [name for name in changes["remove_rules"] if name != change["name"]]
    return {**changes, "rules": [*rules, change], "remove_rules": removals}


def without_rule(changes: Changes, name: str, *, published: bool) -> Changes:
    """``changes`` removing rule ``name``: a published one is proposed for removal, a rule
    only proposed in this draft is just dropped from it."""
    rules = [c for c in changes["rules"] if c["name"] != name]
    removals = [n for n in changes["remove_rules"] if n != name]
    return {**changes, "rules": rules, "remove_rules": [*removals, name] if published else removals}


def _key(entry: ListChange) -> tuple[str, str, str]:
    return entry["list_type"], entry["entity"], entry["value"]


def with_list_add(changes: Changes, entry: ListChange) -> Changes:
    adds = [e for e in changes["list_add"] if _key(e) != _key(entry)]
    removes = [e for e in changes["list_remove"] if _key(e) != _key(entry)]
    return {**changes, "list_add": [*adds, entry], "list_remove": removes}


def with_list_remove(changes: Changes, entry: ListChange, *, published: bool) -> Changes:
    adds = [e for e in changes["list_add"] if _key(e) != _key(entry)]
    removes = [e for e in changes["list_remove"] if _key(e) != _key(entry)]
    return {**changes, "list_add": adds, "list_remove": [*removes, entry] if published else removes}


def policy_with_changes(policy: Policy, changes: Changes, schema: Mapping[str, FactType]) -> Policy:
    """``policy`` with the draft applied. Raises :class:`rules.engine.InvalidRule` when a
    proposed expression does not compile."""
    replaced = {c["name"] for c in changes["rules"]} | set(changes["remove_rules"])
    specs = [spec for spec in policy.rules.specs if spec.name not in replaced]
    descriptions = {k: v for k, v in policy.rule_descriptions.items() if k not in replaced}
    for change in changes["rules"]:
        mode = RuleMode(change["mode"])
        if mode is RuleMode.DISABLED:
            continue
        version = change.get("version", DRAFT_VERSION)
        spec = RuleSpec(
            change["name"], version, change["expression"], Action(change["action"]),
            mode=mode, rollout_percent=change["rollout_percent"],
        )  # fmt: skip
        specs.append(spec)
        descriptions[change["name"]] = change["description"]
    entries = dict(policy.lists.entries)
    for entry in changes["list_remove"]:
        entries.pop(_key(entry), None)
    for i, entry in enumerate(changes["list_add"]):
        entries[_key(entry)] = -1 - i  # not stored yet: no entry id
    thresholds = policy.thresholds
    if changes["thresholds"] is not None:
        proposed = changes["thresholds"]
        thresholds = Thresholds(review=proposed["review_at"], decline=proposed["decline_at"])
    return Policy(
        revision=-1,
        rules=RuleSet(specs, schema),
        lists=Lists(entries),
        thresholds=thresholds,
        rule_descriptions=descriptions,
    )
