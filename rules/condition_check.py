"""What makes an expression a condition, checked on rule-engine's tree; pure, no Django.

rule-engine accepts any expression as a rule and tests its result for truth, so ``amount``
(true for every non-zero amount), ``amount + 1`` or ``"x"`` would "match" almost every
payment, and its bitwise operators (``&``, ``|``, ``^``, ``<<``, ``>>``) read like ``and`` /
``or`` while computing integers. A rule author who writes either has made a mistake; these
functions say which, and :func:`rules.engine.compile_expression` refuses the expression.
"""

from __future__ import annotations

import functools
from typing import Any

import rule_engine
import rule_engine.parser
from rule_engine import ast

_BITWISE_TOKENS = {"BWAND", "BWOR", "BWXOR", "BWLSH", "BWRSH"}
# rule-engine's lexer refuses ``~`` itself (a syntax error); its message is ours too.
BITWISE_NOT = "~"

_SHOWN_CHARACTERS = 60  # of the expression, quoted in a "not a condition" message

_RESULT_WORDS = {
    rule_engine.DataType.FLOAT: "a number",
    rule_engine.DataType.STRING: "text",
    rule_engine.DataType.NULL: "null",
    rule_engine.DataType.DATETIME: "a date-time",
    rule_engine.DataType.TIMEDELTA: "a duration",
}


def bitwise_message(operator: str) -> str:
    """The refusal of a bitwise ``operator``, saying what to write instead."""
    return (
        f"The operator {operator!r} is not allowed: rules have no bitwise operators. "
        "Combine conditions with 'and', 'or' and 'not'."
    )


def bitwise_problem(expression: str) -> str | None:
    """The refusal of the first bitwise operator in ``expression`` (an expression that
    parses), or None if there is none.

    Read from its tokens, not its tree: rule-engine folds constants while parsing, so
    ``amount > 400 | 1`` leaves no bitwise node (it becomes ``amount > 401``).
    """
    lexer = _lexer().clone()
    lexer.input(expression)
    for token in iter(lexer.token, None):
        if token.type in _BITWISE_TOKENS:
            return bitwise_message(str(token.value))
    return None


@functools.cache
def _lexer() -> Any:
    # rule-engine's own lexer (a private attribute: it has no public tokenizer), built once.
    return rule_engine.parser.Parser()._lexer


def condition_problem(expression: ast.ExpressionBase, text: str) -> str | None:
    """Why the typed ``expression`` (whose source is ``text``), or an operand of its ``and`` /
    ``or`` / ``not``, is not a condition; None when it is one (true or false) or when its type
    is only known at run time."""
    text = text.strip()
    shown = text if len(text) <= _SHOWN_CHARACTERS else text[: _SHOWN_CHARACTERS - 1] + "…"
    return _operand_problem(expression, shown=repr(shown))


def _operand_problem(node: ast.ExpressionBase, *, shown: str) -> str | None:
    if isinstance(node, ast.LogicExpression):
        left, right = (_operand_problem(n, shown=_shown(n, node.type)) for n in _sides(node))
        return left or right
    if isinstance(node, ast.UnaryExpression) and node.type == "not":
        return _operand_problem(node.right, shown=_shown(node.right, "not"))
    what = _what_it_is(node.result_type)
    if what is None:
        return None
    return (
        f"Not a condition: {shown} is {what}, not true or false. A rule must compare or "
        "test something, e.g. amount > 500 or country == 'FR'."
    )


def _what_it_is(result_type: object) -> str | None:
    if result_type in (rule_engine.DataType.BOOLEAN, rule_engine.DataType.UNDEFINED):
        return None
    for data_type, words in _RESULT_WORDS.items():
        if result_type == data_type:
            return words
    return "a list or a mapping"


def _sides(node: ast.LogicExpression) -> tuple[ast.ExpressionBase, ast.ExpressionBase]:
    return node.left, node.right


def _shown(node: ast.ExpressionBase, operator: str) -> str:
    """How a message names an operand of ``operator``: the fact or literal, if it is one."""
    if isinstance(node, ast.SymbolExpression):
        return repr(node.name)
    if isinstance(node, ast.StringExpression | ast.FloatExpression):
        return repr(node.value) if isinstance(node.value, str) else str(node.value)
    return f"the value given to {operator!r}"
