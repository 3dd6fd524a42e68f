"""A quick path for the common expressions, with rule-engine's own answers (pure, no Django).

rule-engine walks its tree for every evaluation, checking and converting each value as it
goes; most of a backtest's time was spent there. Expressions made only of ``and``, ``or``,
``not`` and comparisons of a fact with a literal (``amount > 500``, ``country == 'XX'``) are
turned here into plain Python closures that compute what rule-engine computes: a number
fact becomes ``Decimal(repr(value))`` (rule-engine's own coercion) compared with the
literal's ``Decimal``; text compares as text; ``and``/``or`` short-circuit the same way.

They are sure only of plain values: a finite float or an int for a number fact, a str for a
text fact. On anything else (a missing value, None, a bool, NaN, an unknown name) they raise
:class:`Unsure` and the caller asks rule-engine, so errors and odd values get its exact
answer and message.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

import rule_engine
from rule_engine import ast
from rule_engine.types.coercion import _to_decimal

FastMatch = Callable[[Mapping[str, Any]], bool]
_Value = Callable[[Mapping[str, Any]], Any]


class Unsure(Exception):
    """A value the quick path does not answer for: ask rule-engine."""


_ORDERED = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_MISSING = object()


def fast_matcher(rule: rule_engine.Rule) -> FastMatch | None:
    """A closure giving ``bool(rule.matches(facts))`` (raising :class:`Unsure` when it cannot
    be sure), or None when the expression uses something the quick path does not know."""
    return _boolean(rule.statement.expression)


def _boolean(node: ast.ExpressionBase) -> FastMatch | None:
    if isinstance(node, ast.LogicExpression):
        left, right = _boolean(node.left), _boolean(node.right)
        if left is None or right is None:
            return None
        if node.type == "and":
            return lambda facts: bool(left(facts) and right(facts))
        return lambda facts: bool(left(facts) or right(facts))
    if isinstance(node, ast.UnaryExpression) and node.type == "not":
        inner = _boolean(node.right)
        return None if inner is None else lambda facts: not inner(facts)
    if type(node) in (ast.ComparisonExpression, ast.ArithmeticComparisonExpression):
        return _comparison(node)
    return None


def _comparison(node: ast.ComparisonExpression) -> FastMatch | None:
    left, right = _operand(node.left), _operand(node.right)
    if left is None or right is None or left[0] is not right[0]:
        return None  # compile_expression refuses mixed types; leave anything else to rule-engine
    get_left, get_right = left[1], right[1]
    if node.type == "eq":
        return lambda facts: bool(get_left(facts) == get_right(facts))
    if node.type == "ne":
        return lambda facts: bool(get_left(facts) != get_right(facts))
    ordered = _ORDERED.get(node.type)
    if ordered is None:
        return None
    return lambda facts: bool(ordered(get_left(facts), get_right(facts)))


def _operand(node: ast.ExpressionBase) -> tuple[type, _Value] | None:
    """(the value's type, a getter) for a literal or a fact of a known scalar type."""
    if isinstance(node, ast.FloatExpression) and isinstance(node.value, Decimal):
        if not node.value.is_finite():
            return None
        number = node.value
        return Decimal, lambda facts: number
    if isinstance(node, ast.StringExpression) and isinstance(node.value, str):
        text = node.value
        return str, lambda facts: text
    if isinstance(node, ast.SymbolExpression) and node.scope is None:
        if node.result_type == rule_engine.DataType.FLOAT:
            return Decimal, _number_fact(node.name)
        if node.result_type == rule_engine.DataType.STRING:
            return str, _text_fact(node.name)
    return None


def _number_fact(name: str) -> _Value:
    def value(facts: Mapping[str, Any]) -> Decimal:
        found = facts.get(name, _MISSING)
        kind = type(found)
        if kind is int or (kind is float and math.isfinite(found)):
            return cast(Decimal, _to_decimal(found))
        raise Unsure(name)

    return value


def _text_fact(name: str) -> _Value:
    def value(facts: Mapping[str, Any]) -> str:
        found = facts.get(name, _MISSING)
        if type(found) is str:
            return found
        raise Unsure(name)

    return value
