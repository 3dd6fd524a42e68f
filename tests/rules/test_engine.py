"""The rule engine is pure: hand-built facts, no database."""

import pytest

from rules.engine import Action, FactType, InvalidRule, RuleSet, RuleSpec, compile_expression

SCHEMA = {
    "amount": FactType.NUMBER,
    "card_txn_count_1m": FactType.NUMBER,
    "country": FactType.STRING,
}


def spec(name: str, expression: str, action: Action = Action.DECLINE, version: int = 1) -> RuleSpec:
    return RuleSpec(name, version, expression, action)


def test_it_matches_a_velocity_rule():
    rules = RuleSet([spec("burst", "card_txn_count_1m >= 5")], SCHEMA)

    assert [h.name for h in rules.evaluate({"card_txn_count_1m": 5.0}).hits] == ["burst"]
    assert rules.evaluate({"card_txn_count_1m": 4.0}).hits == ()


def test_it_refuses_an_unknown_name_at_compile_time():
    with pytest.raises(InvalidRule, match="Unknown name 'cardz'"):
        compile_expression("cardz > 1", SCHEMA)


def test_it_refuses_a_type_mismatch_at_compile_time():
    with pytest.raises(InvalidRule):
        compile_expression('amount > "big"', SCHEMA)


def test_it_refuses_bad_syntax_and_empty_expressions():
    with pytest.raises(InvalidRule, match="Syntax error"):
        compile_expression("amount >", SCHEMA)
    with pytest.raises(InvalidRule, match="empty"):
        compile_expression("  ", SCHEMA)


def test_a_missing_value_does_not_match_and_is_reported():
    rules = RuleSet([spec("burst", "card_txn_count_1m >= 5")], SCHEMA)

    result = rules.evaluate({"card_txn_count_1m": None})

    assert result.hits == ()
    assert result.errors
    assert result.errors[0].startswith("burst:")


def test_it_evaluates_allow_then_decline_then_review():
    rules = RuleSet(
        [
            spec("r_review", "amount > 1", Action.REVIEW),
            spec("r_decline", "amount > 1", Action.DECLINE),
            spec("r_allow", "amount > 1", Action.ALLOW),
        ],
        SCHEMA,
    )

    result = rules.evaluate({"amount": 2.0})

    assert [h.action for h in result.hits] == [Action.ALLOW, Action.DECLINE, Action.REVIEW]
    assert result.first(Action.DECLINE) is not None


def test_a_hit_records_the_rule_version_and_expression():
    rules = RuleSet([spec("big", "amount > 500 and country == 'NG'", version=7)], SCHEMA)

    (hit,) = rules.evaluate({"amount": 600.0, "country": "NG"}).hits

    assert (hit.version, hit.expression) == (7, "amount > 500 and country == 'NG'")
