"""The rule engine: pure Python over the ``rule-engine`` expression language, no Django.

A rule is an expression over named facts (transaction fields and features), for example
``card_txn_count_1m >= 5 and amount > 500``, and an action. Facts are declared with a type,
so a rule naming an unknown fact or comparing a number with a string is refused when it is
compiled (in the admin), never when a payment is being decided.

Errors::

    RuleError
    └── InvalidRule        the expression does not parse or does not type-check

A comparison with a missing value (an optional field that was not sent) does not match; the
rule is reported in ``RuleSetResult.errors`` instead of failing the decision.

A rule has a :class:`RuleMode`. A live rule acts on every transaction; a shadow rule is
evaluated on every transaction and acts on none (its hits come back apart, in
``RuleSetResult.shadow_hits``); a rollout rule acts on a stable hash share of transactions
(:func:`rollout_acts_on`) and is a shadow rule on the rest; a disabled rule is not evaluated.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rule_engine

from scoring.canary import canary_bucket


class RuleError(Exception):
    """Base class of the engine's errors."""


class InvalidRule(RuleError):
    """An expression that cannot be used: bad syntax, unknown name or wrong type."""


class Action(enum.StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    DECLINE = "decline"
    # Decline now, and open a case so an analyst confirms it (and labels it).
    DECLINE_REVIEW = "decline_review"


class FactType(enum.Enum):
    NUMBER = rule_engine.DataType.FLOAT
    STRING = rule_engine.DataType.STRING
    BOOLEAN = rule_engine.DataType.BOOLEAN


class RuleMode(enum.StrEnum):
    """How a rule takes part in decisions; ``rules.models.RuleMode`` (the stored choices) is
    built on it."""

    LIVE = "live"
    SHADOW = "shadow"
    ROLLOUT = "rollout"
    DISABLED = "disabled"


ROLLOUT_PERCENTS = range(1, 100)
ROLLOUT_NEEDS_PERCENT = "A rollout needs a percentage of transactions, from 1 to 99."


@dataclass(frozen=True)
class TransactionKey:
    """What identifies a transaction for a rollout: its integrator (``scope``) and its id. A
    retry, a replay or a backtest of the same transaction has the same key."""

    scope: str
    transaction_id: str


def rollout_acts_on(*, rule_name: str, percent: int, key: TransactionKey) -> bool:
    """Whether a rule rolled out to ``percent`` % acts on the transaction ``key``.

    The same answer for the same transaction every time; about ``percent`` % of transactions
    say yes; the rule's name is in the hash, so two rules at 50% pick different halves; raising
    the percentage only adds transactions (the hash is ``scoring.canary``'s).
    """
    bucket = canary_bucket(scope=key.scope, transaction_id=key.transaction_id, salt=rule_name)
    return bucket * 100 < percent


@dataclass(frozen=True)
class RuleSpec:
    """A rule as stored: its name, version, expression and action, and its mode (a rollout
    with the percentage of transactions it acts on)."""

    name: str
    version: int
    expression: str
    action: Action
    mode: RuleMode = RuleMode.LIVE
    rollout_percent: int | None = None

    def __post_init__(self) -> None:
        if self.mode is RuleMode.ROLLOUT and self.rollout_percent not in ROLLOUT_PERCENTS:
            raise InvalidRule(ROLLOUT_NEEDS_PERCENT)

    def acts_on(self, key: TransactionKey | None) -> bool:
        """Whether its hit on this transaction acts (else it is recorded as a shadow hit).
        Without a key (no transaction to hash) a rollout acts on nothing."""
        if self.mode is RuleMode.LIVE:
            return True
        if self.mode is RuleMode.ROLLOUT and key is not None:
            percent = self.rollout_percent or 0  # never 0: __post_init__ refuses it
            return rollout_acts_on(rule_name=self.name, percent=percent, key=key)
        return False


@dataclass(frozen=True)
class RuleHit:
    name: str
    version: int
    action: Action
    expression: str


@dataclass(frozen=True)
class RuleSetResult:
    """The hits that act (``hits``) and the errors of those rules; apart, the hits and errors
    of rules evaluated in shadow, which must never change a decision."""

    hits: tuple[RuleHit, ...]
    errors: tuple[str, ...]
    shadow_hits: tuple[RuleHit, ...] = ()
    shadow_errors: tuple[str, ...] = ()

    def first(self, action: Action) -> RuleHit | None:
        return next((hit for hit in self.hits if hit.action is action), None)


def _context(schema: Mapping[str, FactType]) -> rule_engine.Context:
    types = {name: fact_type.value for name, fact_type in schema.items()}
    return rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(types))


def compile_expression(expression: str, schema: Mapping[str, FactType]) -> rule_engine.Rule:
    """Parse and type-check an expression against the facts in ``schema``."""
    if not expression.strip():
        raise InvalidRule("The expression is empty.")
    try:
        return rule_engine.Rule(expression, context=_context(schema))
    except rule_engine.errors.RuleSyntaxError as exc:
        raise InvalidRule(f"Syntax error: {exc.message}") from exc
    except rule_engine.errors.SymbolResolutionError as exc:
        raise InvalidRule(f"Unknown name {exc.symbol_name!r}.") from exc
    except rule_engine.errors.EngineError as exc:
        raise InvalidRule(f"Invalid expression: {exc.message}") from exc


@dataclass(frozen=True)
class _CompiledRule:
    spec: RuleSpec
    rule: rule_engine.Rule


class RuleSet:
    """Compiled rules, evaluated in order: allow, then decline, then review.

    Every rule is evaluated (so each decision records all that fired, for per-rule
    precision and backtests); the caller applies the precedence. Disabled rules are left out.
    """

    _ORDER = {Action.ALLOW: 0, Action.DECLINE: 1, Action.DECLINE_REVIEW: 1, Action.REVIEW: 2}

    def __init__(self, specs: Iterable[RuleSpec], schema: Mapping[str, FactType]) -> None:
        evaluated = (s for s in specs if s.mode is not RuleMode.DISABLED)
        ordered = sorted(evaluated, key=lambda s: (self._ORDER[s.action], s.name))
        self._rules = tuple(
            _CompiledRule(spec, compile_expression(spec.expression, schema)) for spec in ordered
        )

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def specs(self) -> tuple[RuleSpec, ...]:
        return tuple(compiled.spec for compiled in self._rules)

    def evaluate(
        self, facts: Mapping[str, Any], *, key: TransactionKey | None = None
    ) -> RuleSetResult:
        """Every rule on ``facts``; ``key`` (the transaction) decides which rollouts act."""
        live: tuple[list[RuleHit], list[str]] = ([], [])
        shadow: tuple[list[RuleHit], list[str]] = ([], [])
        for compiled in self._rules:
            spec = compiled.spec
            hits, errors = live if spec.acts_on(key) else shadow
            try:
                matched = compiled.rule.matches(facts)
            except rule_engine.errors.EngineError as exc:
                errors.append(f"{spec.name}: {exc.message}")
                continue
            if matched:
                hits.append(RuleHit(spec.name, spec.version, spec.action, spec.expression))
        return RuleSetResult(tuple(live[0]), tuple(live[1]), tuple(shadow[0]), tuple(shadow[1]))
