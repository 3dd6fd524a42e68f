"""The quick path gives exactly rule-engine's answers and errors, or leaves the expression to
it: checked on random facts, with the awkward values (None, bools, NaN, missing names)."""

import math
import random

import pytest
import rule_engine

from rules.engine import CompiledExpression, compile_expression
from rules.fast_match import fast_matcher
from scoring.transaction import RULE_FACTS

EXPRESSIONS = [
    "amount > 500",
    "amount >= 0.1 and amount <= 0.3",
    "500 < amount",
    "local_hour < 5 and amount > 100",
    "card_txn_count_1m >= 3 or country == 'XX'",
    "not (amount > 2.5e3)",
    "country != 'DE' and channel == 'atm'",
    "customer_amount_mean_30d > 10",
    "merchant_fraud_rate_28d == 0.2",
    "amount > -3",
    "country > 'M'",
]
AMOUNTS = [0, 1, 100, 500, 500.0, 500.0000000001, 0.1, 0.3, 0.1 + 0.2, 2500, -3.0, 1e300,
           math.inf, -math.inf, math.nan, None, True, False, "500"]  # fmt: skip
TEXTS = ["DE", "XX", "atm", "", "M", "m", None, 1, True]


def outcome(matches, facts):
    try:
        return bool(matches(facts))
    except rule_engine.errors.EngineError as exc:
        return ("error", type(exc), exc.message)
    except Exception as exc:  # what rule-engine lets through (a NaN compared) must match too
        return ("raised", type(exc))


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_the_quick_path_gives_what_rule_engine_gives(expression):
    rule = compile_expression(expression, RULE_FACTS)
    compiled = CompiledExpression(rule)
    assert fast_matcher(rule) is not None
    rng = random.Random(expression)
    for _ in range(2000):
        facts = {
            name: rng.choice(AMOUNTS)
            for name in ("amount", "local_hour", "card_txn_count_1m", "customer_amount_mean_30d",
                         "merchant_fraud_rate_28d")
        }  # fmt: skip
        facts.update(country=rng.choice(TEXTS), channel=rng.choice(TEXTS))
        if rng.random() < 0.05:
            del facts[rng.choice(list(facts))]
        assert outcome(compiled.matches, facts) == outcome(rule.matches, facts), facts


def test_an_expression_the_quick_path_does_not_know_is_left_to_rule_engine():
    rule = compile_expression("country in ['FR', 'DE'] and amount > 5", RULE_FACTS)
    assert fast_matcher(rule) is None
    assert CompiledExpression(rule).matches({"country": "FR", "amount": 6.0}) is True
