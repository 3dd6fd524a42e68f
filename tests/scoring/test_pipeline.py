"""decide() is pure: hand-built policy, an in-process store, stub scorers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rules.engine import Action, RuleSet, RuleSpec
from rules.policy import Lists, Policy, Thresholds
from scoring.features.memory_store import MemoryFeatureStore
from scoring.pipeline import RulesVerdict, decide, outcome_with_score
from scoring.scorer import ConstantScorer, NoModelScorer, ScorerError
from scoring.transaction import RULE_FACTS
from tests import factories
from tests.conftest import COLD_AS_OF, published


class ExplodingScorer:
    version = "boom"

    def predict(self, features):
        raise AssertionError("the scorer must not be called")


class FailingScorer:
    version = "broken"

    def predict(self, features):
        raise ScorerError("model file missing")


def policy(*rules: RuleSpec, lists: dict | None = None, review=0.5, decline=0.9) -> Policy:
    return Policy(
        revision=3,
        rules=RuleSet(rules, RULE_FACTS),
        lists=Lists(lists or {}),
        thresholds=Thresholds(review, decline),
    )


def run(txn, pol, scorer=None, store=None):
    return decide(
        txn,
        ref=txn.transaction_id,
        scope="s",
        store=store or published(MemoryFeatureStore()),
        policy=pol,
        scorer=scorer or NoModelScorer(),
    )


def test_without_rules_or_model_it_approves_with_no_score():
    result = run(factories.facts(), policy())

    assert (result.outcome, result.score, result.degraded) == ("approve", None, False)
    assert result.policy_revision == 3


def test_a_block_list_hit_declines_without_calling_the_scorer():
    pol = policy(lists={("block", "card", "card-1"): 11})

    result = run(factories.facts(card_id="card-1"), pol, scorer=ExplodingScorer())

    assert result.outcome == "decline"
    assert result.reasons[0].code == "list.block.card"
    assert result.model_version is None


def test_a_decline_rule_decides_without_calling_the_scorer():
    pol = policy(RuleSpec("huge", 2, "amount > 1000", Action.DECLINE))

    result = run(factories.facts(amount=Decimal("5000")), pol, scorer=ExplodingScorer())

    assert result.outcome == "decline"
    assert [(h.name, h.version) for h in result.rule_hits] == [("huge", 2)]


def test_an_allow_list_entry_wins_over_a_decline_rule():
    pol = policy(
        RuleSpec("huge", 1, "amount > 1000", Action.DECLINE),
        lists={("allow", "customer", "vip"): 1},
    )

    result = run(factories.facts(customer_id="vip", amount=Decimal("5000")), pol)

    assert result.outcome == "approve"


def test_a_review_rule_raises_an_approval_to_review():
    pol = policy(RuleSpec("night", 1, "hour_of_day < 6", Action.REVIEW))

    night = factories.facts(occurred_at=datetime(2026, 11, 24, 3, 0, tzinfo=UTC))

    result = run(night, pol, scorer=ConstantScorer(0.1))

    assert (result.outcome, result.score) == ("review", 0.1)


@pytest.mark.parametrize(
    ("probability", "outcome"), [(0.49, "approve"), (0.5, "review"), (0.9, "decline")]
)
def test_the_score_is_held_against_the_thresholds(probability, outcome):
    result = run(factories.facts(), policy(), scorer=ConstantScorer(probability, version="m7"))

    assert (result.outcome, result.model_version) == (outcome, "m7")
    assert result.thresholds == Thresholds(0.5, 0.9)


def test_a_failing_model_falls_back_to_rules_and_is_marked_degraded():
    pol = policy(RuleSpec("big", 1, "amount > 100", Action.REVIEW))

    result = run(factories.facts(amount=Decimal("150")), pol, scorer=FailingScorer())

    assert (result.outcome, result.score, result.degraded) == ("review", None, True)


def test_without_a_published_cold_generation_a_decision_is_degraded():
    result = run(factories.facts(), policy(), store=MemoryFeatureStore())

    assert (result.outcome, result.degraded, result.cold_as_of) == ("approve", True, None)
    assert result.features["customer_amount_mean_30d"] is None


def test_with_a_published_cold_generation_a_decision_is_not_degraded():
    result = run(factories.facts(), policy(), store=published(MemoryFeatureStore()))

    assert (result.degraded, result.cold_as_of) == (False, COLD_AS_OF.timestamp())


def test_deciding_again_on_recorded_features_is_not_degraded_by_the_stores():
    recorded = run(factories.facts(), policy(), store=MemoryFeatureStore()).features

    again = decide(
        factories.facts(), ref="again", scope="s", store=MemoryFeatureStore(), policy=policy(),
        scorer=ConstantScorer(0.1), recorded=recorded,
    )  # fmt: skip

    assert (again.degraded, again.score) == (False, 0.1)


def test_the_features_it_used_are_in_the_result():
    store = published(MemoryFeatureStore())
    pol = policy()
    run(factories.facts(transaction_id="a"), pol, store=store)

    result = run(factories.facts(transaction_id="b"), pol, store=store)

    assert result.features["card_txn_count_1m"] == 1.0


def test_an_unreachable_feature_store_degrades_the_decision_instead_of_failing():
    from scoring.features.store import RedisFeatureStore

    dead = RedisFeatureStore.from_url("redis://127.0.0.1:1/0", timeout=0.05)
    pol = policy(RuleSpec("burst", 1, "card_txn_count_1m >= 5", Action.DECLINE))

    result = run(factories.facts(), pol, scorer=ConstantScorer(0.1), store=dead)

    assert (result.outcome, result.degraded, result.score) == ("approve", True, 0.1)
    assert result.features["card_txn_count_1m"] is None
    assert result.features["amount"] == 25.0


@pytest.mark.parametrize(
    ("probability", "verdict", "expected"),
    [
        (0.95, RulesVerdict("approve", settled=True), "approve"),  # an allow: no score changes it
        (0.10, RulesVerdict("decline", settled=True), "decline"),
        (0.10, RulesVerdict("review", settled=False), "review"),  # a review rule's floor
        (0.95, RulesVerdict("review", settled=False), "decline"),
        (0.70, RulesVerdict("approve", settled=False), "review"),
        (None, RulesVerdict("approve", settled=False), "approve"),  # no score: rules alone
        (None, RulesVerdict("review", settled=False), "review"),
    ],
)
def test_a_score_gives_its_outcome_only_where_lists_and_rules_left_it_to_the_model(
    probability, verdict, expected
):
    assert outcome_with_score(probability, verdict, Thresholds(0.6, 0.9)) == expected
