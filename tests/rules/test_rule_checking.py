"""A rule that could never match, or cannot run, is refused in the admin with a form error
that says why; nothing is saved, and no input makes the page fail."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rules import drafts
from rules.demo import DEMO_RULES, demo_policy_seed
from rules.engine import InvalidRule, compile_expression
from rules.loader import current_policy
from rules.models import PolicyDraft, Rule, RuleVersion
from rules.services import rule_save
from scoring.transaction import RULE_FACTS
from tests import factories

pytestmark = pytest.mark.django_db

ADD = "/admin/rules/rule/add/"


@pytest.fixture
def admin_client() -> Client:
    admin = User.objects.create_superuser("ada", "ada@example.com", "pw-for-tests")
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    return client


def rule_form(name: str = "checked", **overrides: str) -> dict[str, str]:
    return {
        "name": name,
        "description": "",
        "expression": "amount > 500",
        "action": "review",
        "mode": "live",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        **overrides,
    }


def stored() -> tuple[int, int, int]:
    """Rules, their versions, and rules proposed in drafts (an admin's save is a draft)."""
    proposed = sum(len(d.changes.get("rules", [])) for d in PolicyDraft.objects.all())
    return Rule.objects.count(), RuleVersion.objects.count(), proposed


def proposed(name: str) -> dict[str, str]:
    draft = PolicyDraft.objects.get(status="draft")
    change: dict[str, str] = next(c for c in draft.changes["rules"] if c["name"] == name)
    return change


REFUSED = [
    # ill-typed: text against a number, either side, any operator
    ("country == 1", "Type mismatch: 'country' is text but 1 is a number"),
    ('amount != "500"', "Type mismatch: 'amount' is a number but '500' is text"),
    ("country in [1, 2]", "'country' is text but the list holds 1, which is a number"),
    ("2 < country", "Type mismatch: 2 is a number but 'country' is text"),
    # unknown names, with the nearest known one
    ("countyr == 'FR'", "Unknown name 'countyr'. Did you mean 'country'?"),
    ("amout > 500", "Unknown name 'amout'. Did you mean 'amount'?"),
    # bad regular expressions
    ('email_domain =~ "(mail"', "Invalid regular expression '(mail': missing ), unterminated"),
    ('ip !~ "[0-9"', "Invalid regular expression '[0-9': unterminated character set"),
    # syntax errors, with where
    ("amount > > 5", "Syntax error at line 1, column 10: unexpected '>'."),
    ("amount >", "Syntax error at line 1, column 9: the expression ends too soon."),
    # bitwise operators, which read like and / or but compute integers
    ("amount > 1 & country == 'FR'", "The operator '&' is not allowed"),
    ("amount >> 2 > 1", "The operator '>>' is not allowed"),
    ("~amount > 1", "The operator '~' is not allowed"),
    # not a condition: it would "match" whenever the value is not zero or empty
    ("amount", "Not a condition: 'amount' is a number, not true or false."),
    ("amount + 1", "Not a condition: 'amount + 1' is a number"),
    ("'FR'", "Not a condition: \"'FR'\" is text"),
]


@pytest.mark.parametrize(("expression", "says"), REFUSED)
def test_an_invalid_rule_gets_a_form_error_and_nothing_is_saved(admin_client, expression, says):
    before = stored()

    response = admin_client.post(ADD, rule_form(expression=expression))

    assert response.status_code == 200
    assert says in response.context["adminform"].form.errors["expression"][0]
    assert escape(says) in response.text
    assert stored() == before


@pytest.mark.parametrize(("expression", "says"), REFUSED[:1] + REFUSED[4:5] + REFUSED[6:7])
def test_editing_a_rule_into_an_invalid_one_keeps_the_rule_and_its_versions(
    admin_client, expression, says
):
    rule = factories.rule("big_amount", "amount > 500", "review")
    before = stored()

    response = admin_client.post(
        f"/admin/rules/rule/{rule.pk}/change/", rule_form("big_amount", expression=expression)
    )

    assert response.status_code == 200
    assert says in response.context["adminform"].form.errors["expression"][0]
    rule.refresh_from_db()
    assert (rule.expression, rule.version) == ("amount > 500", 1)
    assert stored() == before


def test_the_syntax_error_shows_a_caret_under_the_expression_in_a_fixed_width_font(
    admin_client,
):
    response = admin_client.post(ADD, rule_form(expression="amount > > 5"))

    message = response.context["adminform"].form.errors["expression"][0]
    assert message.splitlines()[1:] == ["amount > > 5", "         ^"]
    assert "css/rule_expression.css" in response.text  # white-space: pre for the caret
    assert "js/form_error_focus.js" in response.text  # the cursor goes to the field in error


def test_the_service_refuses_an_ill_typed_rule_whoever_calls_it():
    with pytest.raises(ValidationError) as refused:
        rule_save(rule=Rule(name="never", expression="country == 1", action="review"))

    assert "'country' is text" in refused.value.message_dict["expression"][0]
    assert stored() == (0, 0, 0)


def test_a_draft_refuses_an_ill_typed_rule_and_proposes_nothing():
    author = factories.user("ada-lead", "lead")

    with pytest.raises(ValidationError) as refused:
        drafts.draft_rule_propose(user=author, name="x", expression="country == 1", action="review")

    assert "'country' is text" in refused.value.message_dict["expression"][0]
    assert stored() == (0, 0, 0)
    assert not PolicyDraft.objects.exists()


def test_the_demo_rules_still_compile_and_seed():
    for _, expression, _, _ in DEMO_RULES:
        compile_expression(expression, RULE_FACTS)

    demo_policy_seed()

    assert Rule.objects.count() == len(DEMO_RULES)


def test_an_ill_typed_rule_stored_before_the_check_is_left_out_of_the_policy():
    factories.rule("good", "amount > 1", "review")
    old = factories.rule("old", "amount > 2", "review")
    Rule.objects.filter(pk=old.pk).update(expression="country == 1")

    assert [spec.name for spec in current_policy().rules.specs] == ["good"]


# --- random input never gets a 500, and never leaves an invalid rule --------------------------

_names = itertools.count()

FACT_NAMES = sorted(RULE_FACTS)
TOKENS = st.one_of(
    st.sampled_from(FACT_NAMES),
    st.sampled_from(["amout", "countr", "card", "$now", "null", "true", "false", "x"]),
    st.sampled_from(["==", "!=", "<", ">", "<=", ">=", "=~", "!~", "=~~", "!~~", "in", "not"]),
    st.sampled_from(["and", "or", "+", "-", "*", "/", "%", "?", ":", ".", ",", "**", "&", "|"]),
    st.sampled_from(["(", ")", "[", "]", "{", "}", '"', "'", "\\", "#", "\n", "${", "e"]),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False).map(str),
    st.text(max_size=8).map(lambda s: '"' + s.replace('"', "") + '"'),
    st.text(alphabet="()[]{}.*+?^$|\\-az09", max_size=8).map(lambda s: f"'{s}'"),
)
BUILT = st.lists(TOKENS, min_size=1, max_size=12).flatmap(
    lambda tokens: st.sampled_from([" ", ""]).map(lambda sep: sep.join(tokens))
)


def _post_and_check(client: Client, expression: str) -> int:
    before = stored()
    name = f"fuzz_{next(_names)}"

    response = client.post(ADD, rule_form(name, expression=expression))

    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:  # refused: a form error, nothing stored
        assert response.context["adminform"].form.errors
        assert stored() == before
        return 200
    # What is saved (proposed in the admin's draft, in force once published) is valid.
    compile_expression(proposed(name)["expression"], RULE_FACTS)
    assert stored()[2] == before[2] + 1
    return 302


FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(expression=st.text(max_size=80))
def test_random_text_never_gets_a_500_nor_saves_an_invalid_rule(admin_client, expression):
    event(f"answered {_post_and_check(admin_client, expression)}")


@FUZZ
@given(expression=BUILT)
def test_random_rule_like_strings_never_get_a_500_nor_save_an_invalid_rule(
    admin_client, expression
):
    event(f"answered {_post_and_check(admin_client, expression)}")


def test_the_fuzz_saves_what_is_valid_so_it_tests_both_paths(admin_client):
    assert _post_and_check(admin_client, "amount > 1 and country in ['FR']") == 302
    assert _post_and_check(admin_client, "amount > 1 and country in [1]") == 200

    assert stored() == (0, 0, 1)


def test_compile_refuses_the_same_expressions_the_form_does():
    for expression, says in REFUSED:
        with pytest.raises(InvalidRule) as refused:
            compile_expression(expression, RULE_FACTS)
        assert says in str(refused.value)
