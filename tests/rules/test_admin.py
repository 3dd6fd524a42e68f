"""Admins edit rules, lists and thresholds in Django admin; every change is versioned."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from rules.loader import current_policy
from rules.models import ListEntry, PolicyRevision, Rule, RuleVersion, ScoreThresholds
from scoring.pii import email_hash
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    admin = User.objects.create_superuser("ada", "ada@example.com", "pw-for-tests")
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    return client


def rule_form(**overrides):
    form = {
        "name": "big_amount",
        "description": "Large amount",
        "expression": "amount > 500",
        "action": "review",
        "mode": "live",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    form.update(overrides)
    return form


def test_an_admin_creates_a_rule_and_its_first_version(admin_client):
    response = admin_client.post("/admin/rules/rule/add/", rule_form())

    assert response.status_code == 302
    rule = Rule.objects.get(name="big_amount")
    assert rule.version == 1
    assert RuleVersion.objects.get(rule=rule).expression == "amount > 500"


def test_a_rule_naming_an_unknown_feature_is_refused_with_a_form_error(admin_client):
    response = admin_client.post("/admin/rules/rule/add/", rule_form(expression="amout > 500"))

    assert response.status_code == 200
    assert "Unknown name &#x27;amout&#x27;" in response.content.decode()
    assert not Rule.objects.exists()


def test_a_rule_with_bad_syntax_is_refused_with_a_form_error(admin_client):
    response = admin_client.post("/admin/rules/rule/add/", rule_form(expression="amount >"))

    assert response.status_code == 200
    assert "Syntax error" in response.content.decode()
    assert not Rule.objects.exists()


def test_changing_a_rule_makes_a_new_version_and_keeps_the_old_one(admin_client):
    rule = factories.rule("big_amount", "amount > 500", "review")

    response = admin_client.post(
        f"/admin/rules/rule/{rule.pk}/change/", rule_form(expression="amount > 400")
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/rules/rule/")
    rule.refresh_from_db()
    assert rule.version == 2
    assert list(rule.versions.order_by("version").values_list("expression", flat=True)) == [
        "amount > 500",
        "amount > 400",
    ]


def test_saving_a_rule_unchanged_keeps_its_version(admin_client):
    rule = factories.rule("big_amount", "amount > 500", "review", description="Large amount")

    response = admin_client.post(f"/admin/rules/rule/{rule.pk}/change/", rule_form())

    assert (response.status_code, response["Location"]) == (302, "/admin/rules/rule/")
    rule.refresh_from_db()
    assert rule.version == 1


def test_a_workers_policy_follows_an_admin_change(admin_client):
    factories.rule("big_amount", "amount > 500", "review")
    before = current_policy()

    response = admin_client.post(
        "/admin/rules/listentry/add/",
        {"list_type": "block", "entity": "email", "value": "Eve@Example.com", "reason": "fraud"},
        follow=True,
    )

    assert response.redirect_chain == [("/admin/rules/listentry/", 302)]
    assert "was added successfully" in response.text
    after = current_policy()
    assert after.revision == PolicyRevision.objects.get().revision > before.revision
    assert ("block", "email", email_hash("eve@example.com")) in after.lists.entries
    assert [s.name for s in after.rules.specs] == ["big_amount"]


def test_an_email_list_entry_is_stored_as_its_keyed_hash(admin_client):
    response = admin_client.post(
        "/admin/rules/listentry/add/",
        {"list_type": "block", "entity": "email", "value": "Eve@Example.com", "reason": ""},
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/rules/listentry/")
    assert ListEntry.objects.get().value == email_hash("eve@example.com")


def test_thresholds_with_review_above_decline_are_refused(admin_client):
    response = admin_client.post(
        "/admin/rules/scorethresholds/add/", {"review_at": "0.95", "decline_at": "0.9"}
    )

    assert response.status_code == 200
    assert "must not exceed" in response.content.decode()
    assert not ScoreThresholds.objects.exists()  # refused: nothing stored


def test_a_rule_that_stopped_compiling_is_left_out_not_fatal():
    factories.rule("good", "amount > 1", "review")
    broken = factories.rule("broken", "amount > 2", "review")
    Rule.objects.filter(pk=broken.pk).update(expression="no_such_feature > 1")

    policy = current_policy()

    assert [s.name for s in policy.rules.specs] == ["good"]


# --- modes --------------------------------------------------------------------------------


def test_an_admin_rolls_a_rule_out_to_a_percentage_and_it_is_a_new_version(admin_client):
    rule = factories.rule("big_amount", "amount > 500", "review", description="Large amount")

    response = admin_client.post(
        f"/admin/rules/rule/{rule.pk}/change/", rule_form(mode="rollout", rollout_percent="25")
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/rules/rule/")
    rule.refresh_from_db()
    assert (rule.mode, rule.rollout_percent, rule.version) == ("rollout", 25, 2)
    assert list(rule.versions.order_by("version").values_list("mode", "rollout_percent")) == [
        ("live", None),
        ("rollout", 25),
    ]
    (spec,) = current_policy().rules.specs
    assert (spec.mode, spec.rollout_percent, spec.version) == ("rollout", 25, 2)
    listing = admin_client.get("/admin/rules/rule/", {"mode": "rollout"})
    assert "rollout 25%" in listing.text


@pytest.mark.parametrize(
    ("mode", "percent", "error"),
    [
        ("rollout", "", "A rollout needs a percentage of transactions, from 1 to 99."),
        ("rollout", "0", "greater than or equal to 1"),
        ("rollout", "100", "less than or equal to 99"),
        ("rollout", "half", "Enter a whole number."),
        ("shadow", "50", "Only a rollout acts on a percentage"),
        ("sometimes", "", "Select a valid choice."),
    ],
)
def test_a_mode_and_percentage_that_do_not_fit_are_refused_with_a_form_error(
    admin_client, mode, percent, error
):
    response = admin_client.post(
        "/admin/rules/rule/add/", rule_form(mode=mode, rollout_percent=percent)
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Rule.objects.exists()


def test_a_shadow_rule_is_in_the_policy_and_a_disabled_one_is_not(admin_client):
    for name, mode in (("watching", "shadow"), ("switched_off", "disabled")):
        response = admin_client.post("/admin/rules/rule/add/", rule_form(name=name, mode=mode))
        assert response.status_code == 302

    specs = current_policy().rules.specs

    assert [(s.name, s.mode) for s in specs] == [("watching", "shadow")]


# --- testing a rule on history ---------------------------------------------------------------


@pytest.fixture
def history(api):
    """Six decisions: three small, three large; two of the large ones later labelled fraud,
    one small one legit."""
    from scoring.labels import label_add
    from scoring.models import Transaction

    ids = [
        api.post("/api/v1/decisions", factories.payload(amount=a), format="json").json()[
            "transaction_id"
        ]
        for a in ("10.00", "12.00", "14.00", "700.00", "800.00", "900.00")
    ]
    for transaction_id, label in ((ids[3], "fraud"), (ids[4], "fraud"), (ids[0], "legit")):
        txn = Transaction.objects.get(transaction_id=transaction_id)
        label_add(transaction=txn, label=label, source="chargeback")
    return ids


def test_a_candidate_rule_is_tested_on_the_recorded_decisions(history):
    from scoring.backtest import Candidate, rule_backtest

    result = rule_backtest(candidate=Candidate("big", "amount > 500", "review"), days=1)

    assert result.decisions == 6
    assert (result.fired, result.fired_fraud, result.fired_legit) == (3, 2, 0)
    assert result.changes == {("approve", "review"): 3}
    assert (result.fraud_challenged_before, result.fraud_challenged_after) == (0, 2)
    assert result.fired_precision == 1.0
    assert not Rule.objects.exists()  # nothing saved


def test_a_backtest_decides_on_the_recorded_features_not_the_store(history):
    from scoring.backtest import Candidate, rule_backtest

    # Each decision recorded the velocity it saw: 0 to 5 earlier card transactions.
    result = rule_backtest(
        candidate=Candidate("burst", "card_txn_count_1m >= 4", "decline"), days=1
    )

    assert result.changes == {("approve", "decline"): 2}


def test_editing_a_rule_is_tested_in_place_of_the_saved_one(history):
    from scoring.backtest import Candidate, rule_backtest

    factories.rule("big", "amount > 500", "review")
    loosened = Candidate("big", "amount > 850", "review", replaces="big")

    result = rule_backtest(candidate=loosened, days=1)

    # The saved rule (> 500) is left out: only the 900.00 one changes, not all three.
    assert result.fired == 1
    assert result.changes == {("approve", "review"): 1}


def test_the_admin_page_tests_a_rule_and_refuses_a_broken_expression(admin_client, history):
    rule = factories.rule("big", "amount > 500", "review")
    prefilled = admin_client.get(f"/admin/rules/rule/backtest/?rule={rule.pk}")
    tested = admin_client.get(
        "/admin/rules/rule/backtest/",
        {"name": "big", "expression": "amount > 750", "action": "review", "days": 7,
         "replaces": "big"},
    )  # fmt: skip
    broken = admin_client.get(
        "/admin/rules/rule/backtest/",
        {"name": "x", "expression": "amount >", "action": "review", "days": 7},
    )

    assert prefilled.status_code == 200
    assert "amount &gt; 500" in prefilled.text
    assert tested.status_code == 200
    assert tested.context["result"].fired == 2
    assert broken.status_code == 400
    assert "expression" in broken.context["form"].errors
    assert "Test on history" in admin_client.get("/admin/rules/rule/").text
    assert admin_client.get("/admin/rules/rule/backtest/?thresholds=1").status_code == 200


def test_thresholds_are_tested_on_the_recorded_scores(history):
    from rules.policy import Thresholds
    from scoring.backtest import Candidate, rule_backtest
    from scoring.models import Decision

    # As if a model had scored them: the large amounts high, the small ones low.
    for decision in Decision.objects.select_related("transaction"):
        decision.score = 0.7 if decision.transaction.amount > 500 else 0.1
        decision.save(update_fields=["score"])

    stricter = rule_backtest(candidate=Candidate(thresholds=Thresholds(0.6, 0.95)), days=1)

    assert stricter.changes == {("approve", "review"): 3}
    assert stricter.fired == 0  # no rule was tried
    assert (stricter.fraud_challenged_after, stricter.legit_challenged_after) == (2, 0)


def test_the_backtest_form_refuses_half_or_inverted_thresholds(admin_client):
    base = {"name": "t", "expression": "", "action": "review", "days": 7}
    half = admin_client.get("/admin/rules/rule/backtest/", {**base, "review_at": 0.5})
    inverted = admin_client.get(
        "/admin/rules/rule/backtest/", {**base, "review_at": 0.9, "decline_at": 0.5}
    )
    nothing = admin_client.get("/admin/rules/rule/backtest/", base)

    assert (half.status_code, inverted.status_code, nothing.status_code) == (400, 400, 400)
    assert "review_at" in inverted.context["form"].errors


def test_a_shadow_rule_changes_no_backtested_outcome_and_as_a_candidate_shows_it_acting(history):
    from scoring.backtest import Candidate, rule_backtest

    factories.rule("big", "amount > 500", "review", mode="shadow")

    in_shadow = rule_backtest(candidate=Candidate(thresholds=current_policy().thresholds), days=1)
    going_live = rule_backtest(
        candidate=Candidate("big", "amount > 500", "review", replaces="big"), days=1
    )

    assert (in_shadow.decisions, in_shadow.changes) == (6, {})
    assert going_live.fired == 3
    assert going_live.changes == {("approve", "review"): 3}
