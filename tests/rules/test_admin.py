"""Admins edit rules, lists and thresholds in Django admin (as drafts, which a second person
publishes: tests/rules/test_drafts.py); every change is versioned."""

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


def published(settings):
    """Publish the admin's open draft as a lead would (no backtest needed here)."""
    from rules import drafts
    from rules.models import PolicyDraft

    settings.BACKTEST_REQUIRED_TO_PUBLISH = False
    lead = factories.user("lee", "lead")
    draft = PolicyDraft.objects.get(status="draft")
    draft = drafts.draft_reason_set(draft=draft, reason="test")
    return drafts.draft_publish(draft=draft, user=lead)


def draft_url():
    from rules.models import PolicyDraft

    return f"/admin/rules/policydraft/{PolicyDraft.objects.get().pk}/change/"


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


def test_an_admin_creates_a_rule_and_its_first_version(admin_client, settings):
    response = admin_client.post("/admin/rules/rule/add/", rule_form())
    published(settings)

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


def test_changing_a_rule_makes_a_new_version_and_keeps_the_old_one(admin_client, settings):
    rule = factories.rule("big_amount", "amount > 500", "review")

    response = admin_client.post(
        f"/admin/rules/rule/{rule.pk}/change/", rule_form(expression="amount > 400")
    )
    published(settings)

    assert (response.status_code, response["Location"]) == (302, draft_url())
    rule.refresh_from_db()
    assert rule.version == 2
    assert list(rule.versions.order_by("version").values_list("expression", flat=True)) == [
        "amount > 500",
        "amount > 400",
    ]


def test_saving_a_rule_unchanged_keeps_its_version(admin_client, settings):
    rule = factories.rule("big_amount", "amount > 500", "review", description="Large amount")

    response = admin_client.post(f"/admin/rules/rule/{rule.pk}/change/", rule_form())
    published(settings)

    assert (response.status_code, response["Location"]) == (302, draft_url())
    rule.refresh_from_db()
    assert rule.version == 1


def test_a_workers_policy_follows_an_admin_change(admin_client, settings):
    factories.rule("big_amount", "amount > 500", "review")
    before = current_policy()

    response = admin_client.post(
        "/admin/rules/listentry/add/",
        {"list_type": "block", "entity": "email", "value": "Eve@Example.com", "reason": "fraud"},
        follow=True,
    )

    assert response.redirect_chain == [(draft_url(), 302)]
    assert "goes live when someone else publishes it" in response.text
    assert current_policy().revision == before.revision  # a draft: nothing in force yet
    published(settings)
    after = current_policy()
    assert after.revision == PolicyRevision.objects.get().revision > before.revision
    assert ("block", "email", email_hash("eve@example.com")) in after.lists.entries
    assert [s.name for s in after.rules.specs] == ["big_amount"]


def test_an_email_list_entry_is_stored_as_its_keyed_hash(admin_client, settings):
    response = admin_client.post(
        "/admin/rules/listentry/add/",
        {"list_type": "block", "entity": "email", "value": "Eve@Example.com", "reason": ""},
    )
    published(settings)

    assert (response.status_code, response["Location"]) == (302, draft_url())
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


def test_an_admin_rolls_a_rule_out_to_a_percentage_and_it_is_a_new_version(admin_client, settings):
    rule = factories.rule("big_amount", "amount > 500", "review", description="Large amount")

    response = admin_client.post(
        f"/admin/rules/rule/{rule.pk}/change/", rule_form(mode="rollout", rollout_percent="25")
    )
    assert (response.status_code, response["Location"]) == (302, draft_url())
    published(settings)

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


def test_a_shadow_rule_is_in_the_policy_and_a_disabled_one_is_not(admin_client, settings):
    for name, mode in (("watching", "shadow"), ("switched_off", "disabled")):
        response = admin_client.post("/admin/rules/rule/add/", rule_form(name=name, mode=mode))
        assert response.status_code == 302
    published(settings)

    specs = current_policy().rules.specs

    assert [(s.name, s.mode) for s in specs] == [("watching", "shadow")]
