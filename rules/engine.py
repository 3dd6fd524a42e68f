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
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rule_engine


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


@dataclass(frozen=True)
class RuleSpec:
    """A rule as stored: its name, version, expression and action."""

    name: str
    version: int
    expression: str
    action: Action


@dataclass(frozen=True)
class RuleHit:
    name: str
    version: int
    action: Action
    expression: str


@dataclass(frozen=True)
class RuleSetResult:
    hits: tuple[RuleHit, ...]
    errors: tuple[str, ...]

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
    precision and backtests); the caller applies the precedence.
    """

    _ORDER = {Action.ALLOW: 0, Action.DECLINE: 1, Action.DECLINE_REVIEW: 1, Action.REVIEW: 2}

    def __init__(self, specs: Iterable[RuleSpec], schema: Mapping[str, FactType]) -> None:
        ordered = sorted(specs, key=lambda s: (self._ORDER[s.action], s.name))
        self._rules = tuple(
            _CompiledRule(spec, compile_expression(spec.expression, schema)) for spec in ordered
        )

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def specs(self) -> tuple[RuleSpec, ...]:
        return tuple(compiled.spec for compiled in self._rules)

    def evaluate(self, facts: Mapping[str, Any]) -> RuleSetResult:
        hits: list[RuleHit] = []
        errors: list[str] = []
        for compiled in self._rules:
            try:
                matched = compiled.rule.matches(facts)
            except rule_engine.errors.EngineError as exc:
                errors.append(f"{compiled.spec.name}: {exc.message}")
                continue
            if matched:
                spec = compiled.spec
                hits.append(RuleHit(spec.name, spec.version, spec.action, spec.expression))
        return RuleSetResult(tuple(hits), tuple(errors))
