"""A backtest shares each expression's result between the two policies and across decisions
with the same values: it must give exactly what evaluating every rule afresh gives."""

import random

from rules.engine import Action, RuleSet, RuleSpec
from rules.policy import Lists, Policy, Thresholds
from scoring.backtest_sharing import SharedMatches, policy_sharing
from scoring.transaction import RULE_FACTS

EXPRESSIONS = [
    ("velocity", "card_txn_count_1m >= 3", Action.DECLINE),
    ("big", "amount > 500", Action.REVIEW),
    ("night_big", "local_hour < 5 and amount > 100", Action.REVIEW),
    ("risky", "merchant_fraud_rate_28d > 0.2", Action.REVIEW),
    ("country", "country == 'XX'", Action.DECLINE),
    ("missing", "customer_amount_mean_30d > 10", Action.REVIEW),  # often None: an error
]


def policy(specs):
    return Policy(
        revision=1, rules=RuleSet(specs, RULE_FACTS), lists=Lists({}),
        thresholds=Thresholds(0.5, 0.9),
    )  # fmt: skip


def test_shared_evaluation_gives_the_same_hits_and_errors_as_evaluating_afresh():
    rng = random.Random(7)
    published = policy([RuleSpec(n, 1, e, a) for n, e, a in EXPRESSIONS])
    draft = policy(
        [RuleSpec(n, 1, e, a) for n, e, a in EXPRESSIONS if n != "big"]
        + [RuleSpec("big", 0, "amount > 400", Action.REVIEW)]
    )
    shared = SharedMatches()
    shared_published, shared_draft = (
        policy_sharing(published, shared),
        policy_sharing(draft, shared),
    )
    seen_hits = seen_errors = 0
    for _ in range(3000):
        facts = {
            "card_txn_count_1m": rng.randrange(5),
            "amount": rng.choice([100.0, 450.0, 500.0, 501.0, 900.0]),
            "local_hour": rng.randrange(24),
            "merchant_fraud_rate_28d": rng.choice([0.1, 0.2, 0.3]),
            "country": rng.choice(["DE", "XX", None]),
            "customer_amount_mean_30d": rng.choice([None, 5.0, 50.0]),
        }
        shared.row_begin()  # both policies decide on these facts, as policies_backtest does
        for fresh, sharing in ((published, shared_published), (draft, shared_draft)):
            expected = fresh.rules.evaluate(dict(facts))
            got = sharing.rules.evaluate(dict(facts))
            assert got == expected
            seen_hits += bool(expected.hits)
            seen_errors += bool(expected.errors)
    assert seen_hits
    assert seen_errors
