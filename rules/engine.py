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

import copy
import difflib
import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import rule_engine
from rule_engine import ast

from rules.condition_check import BITWISE_NOT, bitwise_message, bitwise_problem, condition_problem
from rules.fast_match import Unsure, fast_matcher
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
    """Parse and type-check an expression against the facts in ``schema``.

    Raises :class:`InvalidRule` with a message a rule author can act on: where a syntax error
    is, which fact is compared with a value of another type (``country == 1`` would never
    match), why a regular expression does not compile, the nearest known name to an unknown
    one. Checked in two passes: the expression is parsed without types first, so that our own
    walk over its tree can name the fact and both types of a mismatch (rule-engine only says
    "data type mismatch", and accepts ``==`` between a string and a number); then it is parsed
    again with the facts' types, which also refuses names not in ``schema``, and walked again
    (the typed tree knows the types of attributes such as ``country.length`` too). Bitwise
    operators and an expression that is not a condition (``amount``, ``amount + 1``, ``"x"``)
    are refused too (:mod:`rules.condition_check`).
    """
    if not expression.strip():
        raise InvalidRule("The expression is empty.")
    untyped = _parse(expression, rule_engine.Context(), schema)
    if (bitwise := bitwise_problem(expression)) is not None:
        raise InvalidRule(bitwise)
    _check_tree(untyped, schema)
    typed = _parse(expression, _context(schema), schema)
    _check_tree(typed, schema)
    _check_condition(typed, expression)
    return typed


def _check_condition(rule: rule_engine.Rule, expression: str) -> None:
    try:
        problem = condition_problem(rule.statement.expression, expression)
    except RecursionError as exc:
        raise InvalidRule("Invalid expression: it is nested too deeply.") from exc
    if problem is not None:
        raise InvalidRule(problem)


def _check_tree(rule: rule_engine.Rule, schema: Mapping[str, FactType]) -> None:
    try:
        _check_types(rule.statement.expression, schema)
    except RecursionError as exc:
        raise InvalidRule("Invalid expression: it is nested too deeply.") from exc


def _parse(
    expression: str, context: rule_engine.Context, schema: Mapping[str, FactType]
) -> rule_engine.Rule:
    errors = rule_engine.errors
    try:
        return rule_engine.Rule(expression, context=context)
    except errors.RuleSyntaxError as exc:
        raise InvalidRule(_syntax_message(expression, exc)) from exc
    except errors.RegexSyntaxError as exc:
        raise InvalidRule(_regex_message(exc.value, exc.error)) from exc
    except errors.SymbolResolutionError as exc:
        raise InvalidRule(_unknown_name_message(exc.symbol_name, schema)) from exc
    except errors.EvaluationError as exc:
        if "mismatch" in exc.message:  # two values of different types, neither a fact
            raise InvalidRule(
                f"Type mismatch: the expression compares or combines values of different "
                f"types ({exc.message})."
            ) from exc
        raise InvalidRule(f"Invalid expression: {exc.message}.") from exc
    except errors.EngineError as exc:
        raise InvalidRule(f"Invalid expression: {exc.message}.") from exc
    except (RecursionError, ArithmeticError, ValueError, TypeError) as exc:
        # The parser's own limits (nesting too deep, a number out of range): still the
        # author's expression that cannot be used, never a crash of the page.
        raise InvalidRule(f"Invalid expression: it cannot be read ({type(exc).__name__}).") from exc


_SYNTAX_CONTEXT = 40  # characters of the line shown either side of a syntax error


def _syntax_message(expression: str, exc: rule_engine.errors.RuleSyntaxError) -> str:
    """Where the parser stopped, as line and column and a caret under that line."""
    token = exc.token
    offset = len(expression) if token is None else int(token.lexpos)
    line_start = expression.rfind("\n", 0, offset) + 1
    line_end = expression.find("\n", offset)
    text = expression[line_start : len(expression) if line_end < 0 else line_end]
    line, column = expression.count("\n", 0, offset) + 1, offset - line_start + 1
    if token is None:
        what = "the expression ends too soon"
    elif "illegal character" in exc.message and str(token.value).startswith(BITWISE_NOT):
        return bitwise_message(BITWISE_NOT)
    elif "illegal character" in exc.message:
        what = f"{str(token.value)[:1]!r} is not allowed here"
    else:
        what = f"unexpected {str(token.value)!r}"
    # A window of the line around the column, so a long line still shows where.
    start = max(0, column - 1 - _SYNTAX_CONTEXT)
    shown = text[start : column - 1 + _SYNTAX_CONTEXT]
    caret = " " * (column - 1 - start) + "^"
    return f"Syntax error at line {line}, column {column}: {what}.\n{shown}\n{caret}"


def _regex_message(pattern: str, error: re.error) -> str:
    where = "" if error.pos is None else f" at position {error.pos}"
    return f"Invalid regular expression {pattern!r}: {error.msg}{where}."


def _unknown_name_message(name: str, schema: Mapping[str, FactType]) -> str:
    nearest = difflib.get_close_matches(name, list(schema), n=1)
    hint = f" Did you mean {nearest[0]!r}?" if nearest else ""
    return f"Unknown name {name!r}.{hint}"


# What the type check calls each type, and each operator, in its messages.
_TYPE_WORDS = {
    rule_engine.DataType.FLOAT: "a number",
    rule_engine.DataType.STRING: "text",
    rule_engine.DataType.BOOLEAN: "a boolean (true/false)",
    rule_engine.DataType.DATETIME: "a date-time",
    rule_engine.DataType.TIMEDELTA: "a duration",
}
_OPERATORS = {
    "eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=",
    "eq_fzm": "=~", "eq_fzs": "=~~", "ne_fzm": "!~", "ne_fzs": "!~~",
}  # fmt: skip
# Where a node keeps the nodes under it (rule-engine's AST has no generic children list).
_CHILD_ATTRIBUTES = (
    "left", "right", "container", "member", "condition", "case_true", "case_false", "object",
    "item", "start", "stop", "result", "iterable", "function", "arguments", "value",
)  # fmt: skip


def _check_types(node: ast.ExpressionBase, schema: Mapping[str, FactType]) -> None:
    """Refuse a comparison between values of different types, anywhere in the tree."""
    if isinstance(node, ast.FuzzyComparisonExpression):
        _check_regex_operands(node, schema)
    elif isinstance(node, ast.ComparisonExpression):
        _check_same_type(node.left, node.right, _OPERATORS.get(node.type, node.type), schema)
    elif isinstance(node, ast.ContainsExpression):
        _check_membership(node, schema)
    for child in _children(node):
        _check_types(child, schema)


def _children(node: ast.ExpressionBase) -> Iterator[ast.ExpressionBase]:
    for attribute in _CHILD_ATTRIBUTES:
        yield from _expressions_in(getattr(node, attribute, None))


def _expressions_in(value: Any) -> Iterator[ast.ExpressionBase]:
    if isinstance(value, ast.ExpressionBase):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _expressions_in(item)


def _type_of(node: ast.ExpressionBase, schema: Mapping[str, FactType]) -> Any:
    """The node's type as far as it is known before any value is: a fact's declared type."""
    if isinstance(node, ast.SymbolExpression) and node.scope is None and node.name in schema:
        return schema[node.name].value
    if isinstance(node, ast.AddExpression | ast.SubtractExpression):
        left, right = _type_of(node.left, schema), _type_of(node.right, schema)
        return left if left == right else rule_engine.DataType.UNDEFINED
    if isinstance(node, ast.UnaryExpression) and node.type == "uminus":
        return _type_of(node.right, schema)
    if isinstance(node, ast.TernaryExpression):
        true, false = _type_of(node.case_true, schema), _type_of(node.case_false, schema)
        return true if true == false else rule_engine.DataType.UNDEFINED
    return node.result_type


def _describe(node: ast.ExpressionBase) -> str:
    if isinstance(node, ast.SymbolExpression):
        return repr(node.name)
    if isinstance(node, ast.StringExpression):
        return repr(node.value)
    if isinstance(node, ast.FloatExpression | ast.BooleanExpression):
        return str(node.value).lower() if isinstance(node.value, bool) else str(node.value)
    facts = sorted({repr(n.name) for n in _nodes(node) if isinstance(n, ast.SymbolExpression)})
    return f"the value computed from {', '.join(facts)}" if facts else "the value beside it"


def _nodes(node: ast.ExpressionBase) -> Iterator[ast.ExpressionBase]:
    yield node
    for child in _children(node):
        yield from _nodes(child)


def _check_same_type(
    left: ast.ExpressionBase,
    right: ast.ExpressionBase,
    operator: str,
    schema: Mapping[str, FactType],
) -> None:
    left_type, right_type = _type_of(left, schema), _type_of(right, schema)
    if left_type in _TYPE_WORDS and right_type in _TYPE_WORDS and left_type != right_type:
        raise InvalidRule(
            f"Type mismatch: {_describe(left)} is {_TYPE_WORDS[left_type]} but "
            f"{_describe(right)} is {_TYPE_WORDS[right_type]}, so {operator} between them "
            "can never be true. Compare values of the same type."
        )


def _check_regex_operands(
    node: ast.FuzzyComparisonExpression, schema: Mapping[str, FactType]
) -> None:
    operator = _OPERATORS.get(node.type, node.type)
    for side in (node.left, node.right):
        side_type = _type_of(side, schema)
        if side_type in _TYPE_WORDS and side_type != rule_engine.DataType.STRING:
            raise InvalidRule(
                f"Type mismatch: {_describe(side)} is {_TYPE_WORDS[side_type]} but {operator} "
                "matches text against a regular expression (text)."
            )


def _check_membership(node: ast.ContainsExpression, schema: Mapping[str, FactType]) -> None:
    container_type = _type_of(node.container, schema)
    member_type = _type_of(node.member, schema)
    if container_type in _TYPE_WORDS and container_type != rule_engine.DataType.STRING:
        raise InvalidRule(
            f"Type mismatch: {_describe(node.container)} is {_TYPE_WORDS[container_type]}; "
            "'in' needs a list, e.g. country in ['FR', 'DE'], or text."
        )
    if container_type == rule_engine.DataType.STRING:
        if member_type in _TYPE_WORDS and member_type != container_type:
            raise InvalidRule(
                f"Type mismatch: {_describe(node.member)} is {_TYPE_WORDS[member_type]} but "
                f"{_describe(node.container)} is text, and 'in' on text looks for a piece of "
                "text."
            )
        return
    if isinstance(node.container, ast.ArrayExpression | ast.SetExpression):
        for item in node.container.value:
            item_type = _type_of(item, schema)
            if member_type in _TYPE_WORDS and item_type in _TYPE_WORDS and item_type != member_type:
                raise InvalidRule(
                    f"Type mismatch: {_describe(node.member)} is {_TYPE_WORDS[member_type]} "
                    f"but the list holds {_describe(item)}, which is {_TYPE_WORDS[item_type]}, "
                    "so it can never be in it."
                )


class Matcher(Protocol):
    """What answers for a rule's expression in :meth:`RuleSet.evaluate`."""

    def matches(self, facts: Mapping[str, Any]) -> bool: ...


class CompiledExpression:
    """A compiled expression: rule-engine's ``rule``, answered by the quick path
    (:mod:`rules.fast_match`) where that path is sure, else by rule-engine itself; the same
    answers and errors either way."""

    __slots__ = ("_fast", "rule", "text")

    def __init__(self, rule: rule_engine.Rule) -> None:
        self.rule, self.text = rule, rule.text
        self._fast = fast_matcher(rule)

    def quick(self, facts: Mapping[str, Any]) -> bool | None:
        """The quick path's answer, or None when it is not sure (ask :meth:`matches`)."""
        if self._fast is None:
            return None
        try:
            return self._fast(facts)
        except Unsure:
            return None

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """Whether ``facts`` match; raises rule-engine's ``EngineError`` as rule-engine does."""
        found = self.quick(facts)
        return bool(self.rule.matches(facts)) if found is None else found


@dataclass(frozen=True)
class _CompiledRule:
    spec: RuleSpec
    matcher: Matcher


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
            _CompiledRule(spec, CompiledExpression(compile_expression(spec.expression, schema)))
            for spec in ordered
        )
        self._expressions = tuple(cast(CompiledExpression, c.matcher) for c in self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def specs(self) -> tuple[RuleSpec, ...]:
        return tuple(compiled.spec for compiled in self._rules)

    def answered_by(self, wrap: Callable[[CompiledExpression], Matcher]) -> RuleSet:
        """These rules, not compiled again, each answered by ``wrap(its expression)``: a
        backtest shares results between two policies this way. Order, hits and errors are
        :meth:`evaluate`'s own."""
        answered = copy.copy(self)
        answered._rules = tuple(
            _CompiledRule(compiled.spec, wrap(expression))
            for compiled, expression in zip(self._rules, self._expressions, strict=True)
        )
        return answered

    def evaluate(
        self, facts: Mapping[str, Any], *, key: TransactionKey | None = None
    ) -> RuleSetResult:
        """Every rule on ``facts``; ``key`` (the transaction) decides which rollouts act."""
        live: tuple[list[RuleHit], list[str]] = ([], [])
        shadow: tuple[list[RuleHit], list[str]] = ([], [])
        for compiled in self._rules:
            spec = compiled.spec
            # A live rule acts (acts_on's first case, without the call: this loop is hot).
            hits, errors = live if spec.mode is RuleMode.LIVE or spec.acts_on(key) else shadow
            try:
                matched = compiled.matcher.matches(facts)
            except rule_engine.errors.EngineError as exc:
                errors.append(f"{spec.name}: {exc.message}")
                continue
            if matched:
                hits.append(RuleHit(spec.name, spec.version, spec.action, spec.expression))
        return RuleSetResult(tuple(live[0]), tuple(live[1]), tuple(shadow[0]), tuple(shadow[1]))
