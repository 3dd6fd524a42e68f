"""Rule modes through the API: a shadow rule's hits are stored and change nothing; a rollout
acts on a stable hash share of transactions, the same share on a retry."""

from datetime import UTC, datetime, timedelta

import pytest

from cases.models import Case
from rules.demo import demo_policy_seed
from rules.engine import TransactionKey, rollout_acts_on
from rules.loader import current_policy
from rules.services import rule_save
from scoring.integrators import api_key_issue
from scoring.lifecycle import model_promote
from scoring.models import Decision, Integrator
from scoring.replay import decide_stored
from scoring.scorer import NoModelScorer
from scoring.serving import decision_store
from scoring.simulation.history import HistorySimulator
from tests import factories
from tests.scoring.test_model import version_for

pytestmark = pytest.mark.django_db

START = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_dates(settings):
    settings.DECISION_MAX_AGE_DAYS = 100 * 365  # fixed dates, whatever day the suite runs


def client_of(anonymous_api, key: str):
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return anonymous_api


def decide_all(client, payloads) -> None:
    for body in payloads:
        response = client.post("/api/v1/decisions", body, format="json")
        assert response.status_code == 201, response.content


def stored(integrator: Integrator) -> dict[str, Decision]:
    decisions = Decision.objects.filter(transaction__integrator=integrator)
    return {d.transaction.transaction_id: d for d in decisions.select_related("transaction")}


def what_acted(decision: Decision) -> tuple:
    """Everything a decision's outcome is made of, and what it led to."""
    return (
        decision.outcome, decision.score, decision.reasons, decision.rules,
        decision.rules_outcome, decision.list_hits, decision.model_version,
        decision.degraded, decision.features, Case.objects.filter(decision=decision).exists(),
    )  # fmt: skip


def test_a_shadow_rule_is_stored_and_every_outcome_stays_what_it_was_without_it(
    anonymous_api, trained_model, cold_published
):
    model_promote(version=version_for(trained_model, "m-a"), actor=None, reason="test")
    demo_policy_seed()
    history = HistorySimulator(seed=5, customers=30).generate(start=START, days=2)
    payloads = [txn.payload for txn in history]
    without, with_shadow = factories.integrator("without"), factories.integrator("with")

    decide_all(client_of(anonymous_api, without.key), payloads)
    # Had they acted: every payment approved, or those over 50 declined with a case.
    factories.rule("shadow_allow", "amount > 0", "allow", mode="shadow")
    factories.rule("shadow_decline", "amount > 50", "decline_review", mode="shadow")
    factories.rule("switched_off", "amount > 0", "decline", mode="disabled")
    decide_all(client_of(anonymous_api, with_shadow.key), payloads)

    before = stored(without.api_key.integrator)
    after = stored(with_shadow.api_key.integrator)
    assert set(before) == set(after) == {body["transaction_id"] for body in payloads}
    assert {t: what_acted(d) for t, d in after.items()} == {
        t: what_acted(d) for t, d in before.items()
    }
    # The comparison has something to compare: outcomes of all kinds, cases, model scores.
    outcomes = {d.outcome for d in before.values()}
    assert {"approve", "review", "decline"} <= outcomes
    assert Case.objects.filter(decision__in=list(before.values())).exists()
    assert any(d.score is not None for d in before.values())
    for body in payloads:
        fired = {hit["name"] for hit in after[body["transaction_id"]].shadow_rules}
        over_50 = float(body["amount"]) > 50
        assert fired == {"shadow_allow"} | ({"shadow_decline"} if over_50 else set())
        assert before[body["transaction_id"]].shadow_rules == []
    hit = after[payloads[0]["transaction_id"]].shadow_rules[0]
    assert hit == {"name": "shadow_allow", "version": 1, "action": "allow"}
    cases = Case.objects.filter(decision__transaction__integrator=with_shadow.api_key.integrator)
    assert cases.count() == Case.objects.filter(decision__in=list(before.values())).count()


ROLLOUT_SCOPE = 424242  # a fixed integrator id: the hash of (integrator, id, rule) is pinned


def thousand_payloads() -> list[dict]:
    return [
        factories.payload(
            transaction_id=f"t-{n:05d}",
            occurred_at=(START + timedelta(seconds=n)).isoformat(),
            card_id=f"card-{n}",
            customer_id=f"cust-{n}",
        )
        for n in range(1000)
    ]


def acted_on(decisions) -> set[str]:
    """The transactions whose decision the rule acted on."""
    return {
        d.transaction.transaction_id
        for d in decisions
        if any(hit["rule"] == "new_rule" for hit in d.rules)
    }


def redecided(decisions) -> set[str]:
    """The transactions the rule acts on when they are decided again under the policy in
    force, on their recorded features (as a replay or a backtest decides them)."""
    policy = current_policy()
    return {
        d.transaction.transaction_id
        for d in decisions
        if decide_stored(
            d.transaction, store=decision_store(), policy=policy, scorer=NoModelScorer(),
            recorded=d.features,
        ).rule_hits
    }  # fmt: skip


def test_a_half_rollout_acts_on_about_half_of_a_thousand_transactions_the_same_half_on_a_retry(
    anonymous_api, cold_published
):
    integrator = Integrator.objects.create(pk=ROLLOUT_SCOPE, name="rolling")
    client = client_of(anonymous_api, api_key_issue(integrator=integrator).key)
    factories.rule("new_rule", "amount > 0", "review", mode="rollout", rollout_percent=50)
    payloads = thousand_payloads()

    decide_all(client, payloads)

    decisions = list(stored(integrator).values())
    acted = acted_on(decisions)
    shadowed = {d.transaction.transaction_id for d in decisions if d.shadow_rules}
    assert 430 <= len(acted) <= 570
    assert len(acted) == 516  # these ids at this integrator, by the hash (as the engine's test)
    assert acted == {
        body["transaction_id"]
        for body in payloads
        if rollout_acts_on(
            rule_name="new_rule",
            percent=50,
            key=TransactionKey(str(ROLLOUT_SCOPE), body["transaction_id"]),
        )
    }
    assert shadowed == {body["transaction_id"] for body in payloads} - acted
    # Acting is what a review rule does (no model here: the rule alone sets the floor).
    assert {d.transaction.transaction_id for d in decisions if d.outcome == "review"} == acted
    assert Case.objects.filter(decision__in=decisions).count() == len(acted)

    # A retry is answered with the stored decision; deciding the same transactions again
    # (a replay, a backtest) puts the rule on the same half.
    for body in payloads[:100]:
        again = client.post("/api/v1/decisions", body, format="json")
        assert again.status_code == 200
        assert again.json()["outcome"] == (
            "review" if body["transaction_id"] in acted else "approve"
        )
    assert redecided(decisions) == acted
    assert Decision.objects.filter(transaction__integrator=integrator).count() == 1000


def test_raising_a_rollout_keeps_the_transactions_it_already_acted_on(
    anonymous_api, cold_published
):
    integrator = Integrator.objects.create(pk=ROLLOUT_SCOPE, name="rolling")
    client = client_of(anonymous_api, api_key_issue(integrator=integrator).key)
    rule = factories.rule("new_rule", "amount > 0", "review", mode="rollout", rollout_percent=20)
    decide_all(client, thousand_payloads()[:300])
    decisions = list(stored(integrator).values())
    at_20 = acted_on(decisions)

    rule.rollout_percent = 60
    rule_save(rule=rule)

    at_60 = redecided(decisions)
    assert at_20 < at_60
    assert 30 <= len(at_20) <= 90  # about 20% of 300
    assert 150 <= len(at_60) <= 210  # about 60%
    assert {h["version"] for d in decisions for h in [*d.rules, *d.shadow_rules]} == {1}
    assert current_policy().rules.specs[0].version == 2  # the percentage is versioned
