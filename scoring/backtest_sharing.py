"""What a backtest's two policies share while re-deciding stored decisions: each rule's
answers (pure, no Django: ``scoring/backtest.py`` uses it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import rule_engine

from rules.engine import CompiledExpression
from rules.policy import Policy
from scoring.transaction import RULE_FACTS


class SharedMatches:
    """What each expression gave on the values it reads, shared by both policies and across
        decisions: a rule the draft leaves as it is runs once per decision, not twice, and a rule
        reading few values (``card_txn_count_1m >= 5``) runs once per distinct value. An
        expression is a pure function of the facts it names (one naming a ``$`` builtin, such as
        ``$now``, is not, and always runs). An expression the quick path answers
    (``CompiledExpression.quick``) is not remembered across decisions (cheaper than the key),
    only within one: both policies decide a stored decision on the same facts, so the second
    takes an unchanged rule's answer from the first (``row_begin`` starts a decision)."""

    LIMIT = 200_000  # remembered results, all expressions together; then it starts again

    def __init__(self) -> None:
        self._names: dict[str, tuple[str, ...] | None] = {}
        self._results: dict[tuple[Any, ...], bool | rule_engine.errors.EngineError] = {}
        # This decision's answers, by expression: what the other policy asks again.
        self.row: dict[str, bool | rule_engine.errors.EngineError] = {}

    def row_begin(self) -> None:
        """The next answers are for another decision's facts."""
        self.row = {}

    def names_read(self, text: str) -> tuple[str, ...] | None:
        if text not in self._names:
            read: list[str] = []

            def recording(name: str) -> rule_engine.DataType:
                read.append(name)
                return RULE_FACTS[name].value

            if "$" in text:
                self._names[text] = None
            else:
                rule_engine.Rule(text, context=rule_engine.Context(type_resolver=recording))
                self._names[text] = tuple(dict.fromkeys(read))
        return self._names[text]

    def answer(
        self, expression: CompiledExpression, names: tuple[str, ...], facts: Mapping[str, Any]
    ) -> bool | rule_engine.errors.EngineError:
        quick = expression.quick(facts)
        if quick is not None:
            return quick  # cheaper than the key below
        values = [facts.get(name) for name in names]
        # The types too: 1, 1.0 and True are equal keys but not the same fact to the engine.
        key = (expression.text, *values, *map(type, values))
        found = self._results.get(key)
        if found is None:
            try:
                found = bool(expression.rule.matches(facts))
            except rule_engine.errors.EngineError as exc:
                found = exc
            if len(self._results) >= self.LIMIT:
                self._results.clear()
            self._results[key] = found
        return found


class _SharedRule:
    """A compiled expression that asks :class:`SharedMatches` (what ``RuleSet.evaluate``
    calls)."""

    __slots__ = ("_expression", "_names", "_shared", "_text")

    def __init__(self, expression: CompiledExpression, shared: SharedMatches) -> None:
        self._expression, self._shared, self._text = expression, shared, expression.text
        self._names = shared.names_read(expression.text)

    def matches(self, facts: Mapping[str, Any]) -> bool:
        if self._names is None:  # not a pure function of its facts: always run
            return self._expression.matches(facts)
        row = self._shared.row
        found = row.get(self._text)
        if found is None:
            found = row[self._text] = self._shared.answer(self._expression, self._names, facts)
        if isinstance(found, rule_engine.errors.EngineError):
            raise found
        return found


def policy_sharing(policy: Policy, shared: SharedMatches) -> Policy:
    """``policy`` with its compiled rules answered through ``shared``; ``RuleSet.evaluate``
    itself (order, hits, errors) is unchanged."""
    rules = policy.rules.answered_by(lambda expression: _SharedRule(expression, shared))
    return dataclasses.replace(policy, rules=rules)
