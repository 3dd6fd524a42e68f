"""The investigation console: an expression over stored decisions (their features, fields,
outcome and label), its matches over time, precision against labels, a sample linked to
cases, and "save as draft rule"; for analysts, leads and admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from cases.models import Case
from cases.opening import default_queue_ensure
from rules.console import console_query
from rules.models import PolicyDraft, Rule
from scoring.label_reads import transaction_label_as_of
from scoring.labels import label_add
from scoring.models import Decision, Integrator, Transaction
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)
MOMENT = datetime(2026, 1, 20, tzinfo=UTC)  # before the 30-day maturity of any of them


def decided(i: int, *, amount: float, country: str, count_1h: float | None, outcome: str,
            label: str | None, hours: int) -> Decision:  # fmt: skip
    integrator = Integrator.objects.get_or_create(name="acme")[0]
    txn = Transaction.objects.create(
        integrator=integrator, transaction_id=f"t{i}", occurred_at=SINCE + timedelta(hours=hours),
        amount=Decimal(str(amount)), currency="EUR", customer_id=f"c{i % 3}", merchant_id="m1",
        channel="ecom", country=country, request_hash="0" * 64,
    )  # fmt: skip
    if label is not None:
        label_add(transaction=txn, label=label, source="analyst", reported_at=DAY)
    features: dict[str, float | None] = {"amount": amount}
    if count_1h is not None:
        features["card_txn_count_1h"] = count_1h
    return Decision.objects.create(
        transaction=txn, outcome=outcome, score=amount / 1000, policy_revision=1,
        latency_ms=1.0, features=features,
    )  # fmt: skip


COUNTRIES = ("DE", "FR", "NL")
LABELS = ("fraud", "fraud", "legit", None)


@pytest.fixture
def history(settings):
    """24 decisions over three days, with varied amounts, countries, velocities, outcomes and
    labels; one before the period. A decision with no card_txn_count_1h recorded has None."""
    settings.LABEL_MATURITY_DAYS = 30
    made = [
        decided(
            i, amount=float(40 * i + 5), country=COUNTRIES[i % 3],
            count_1h=None if i % 7 == 6 else float(i % 5), outcome=("approve", "review")[i % 2],
            label=LABELS[i % 4], hours=3 * i,
        )
        for i in range(24)
    ]  # fmt: skip
    decided(99, amount=900.0, country="DE", count_1h=4.0, outcome="review", label="fraud",
            hours=-30)  # fmt: skip
    return made


def direct(predicate: Any) -> dict[str, Any]:
    """What the console must find, computed another way: each decision of the period in turn,
    its label read one at a time."""
    matched, fraud, legit = [], 0, 0
    for decision in Decision.objects.filter(
        transaction__occurred_at__gte=SINCE, transaction__occurred_at__lt=UNTIL
    ).select_related("transaction"):
        label = transaction_label_as_of(decision.transaction, MOMENT)
        if predicate(decision, label):
            matched.append(decision.transaction.transaction_id)
            fraud += label == "fraud"
            legit += label == "legit"
    return {"matched": matched, "fraud": fraud, "legit": legit}


def test_counts_and_precision_equal_a_direct_computation(history):
    expected = direct(
        lambda d, label: float(d.transaction.amount) > 300 and d.transaction.country != "FR"
    )

    result = console_query(
        expression="amount > 300 and country != 'FR'", since=SINCE, until=UNTIL, moment=MOMENT
    )

    assert result.scanned == 24
    assert result.matched == len(expected["matched"]) > 0
    assert (result.matched_fraud, result.matched_legit) == (expected["fraud"], expected["legit"])
    assert result.precision == expected["fraud"] / (expected["fraud"] + expected["legit"])
    assert {m.transaction_id for m in result.sample} == set(expected["matched"])
    assert sum(result.series(result.matched_daily)) == result.matched
    assert result.series(result.scanned_daily) == [8, 8, 8]


def test_the_expression_may_name_the_outcome_the_score_and_the_label(history):
    expected = direct(lambda d, label: d.outcome == "review" and label == "fraud")

    result = console_query(
        expression="outcome == 'review' and label == 'fraud' and score > 0",
        since=SINCE, until=UNTIL, moment=MOMENT,
    )  # fmt: skip

    assert result.matched == len(expected["matched"]) == expected["fraud"] > 0
    assert result.precision == 1.0
    unknown = console_query(expression="label == null", since=SINCE, until=UNTIL, moment=MOMENT)
    assert unknown.matched == len(direct(lambda d, label: label is None)["matched"]) == 6


def test_a_decision_missing_a_value_the_expression_needs_does_not_match(history):
    expected = direct(
        lambda d, label: (
            (d.features.get("card_txn_count_1h") or 0) >= 3 and "card_txn_count_1h" in d.features
        )
    )

    result = console_query(
        expression="card_txn_count_1h >= 3", since=SINCE, until=UNTIL, moment=MOMENT
    )

    assert result.matched == len(expected["matched"])
    assert result.errors == sum(1 for i in range(24) if i % 7 == 6)  # compared with null


def test_the_scan_is_capped_to_the_newest_decisions_and_says_so(history):
    result = console_query(expression="amount > 0", since=SINCE, until=UNTIL, moment=MOMENT, cap=5)

    assert (result.scanned, result.capped) == (5, True)
    assert {m.transaction_id for m in result.sample} == {f"t{i}" for i in range(19, 24)}
    assert result.oldest_scanned == SINCE + timedelta(hours=3 * 19)


# --- the page ----------------------------------------------------------------------------


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def get(client: Client, expression: str, **extra: str) -> Any:
    return client.get(
        "/rules/console",
        {"expression": expression, "since": "2026-01-05", "until": "2026-01-07", **extra},
    )


def test_an_analyst_sees_the_matches_the_chart_and_cases_linked(history):
    case = Case.objects.create(
        decision=history[23], queue=default_queue_ensure(), priority=1, sla_due_at=DAY
    )

    response = get(browser(factories.user("alice", "analyst")), "amount > 900")

    assert response.status_code == 200
    result = response.context["result"]
    assert result.matched == len([d for d in history if float(d.transaction.amount) > 900])
    assert 'id="console-figure-1" type="application/json"' in response.text
    assert f'href="/cases/{case.pk}/"' in response.text
    assert 'id="console-draft"' in response.text


@pytest.mark.parametrize(
    "expression",
    ["amount >", "amout > 5", "amount > 'x' +", "(((", "country =~ '['", "x" * 3000],
)
def test_a_bad_expression_is_a_form_error_not_a_500(history, expression):
    response = get(browser(factories.user("alice", "analyst")), expression)

    assert response.status_code == 200
    assert response.context["result"] is None
    assert "expression" in response.context["form"].errors


def test_an_unknown_name_is_named_in_the_error(history):
    response = get(browser(factories.user("alice", "analyst")), "amout > 5")

    assert "amout" in response.context["form"].errors["expression"][0]


@pytest.mark.parametrize(
    ("expression", "says"),
    [("amount", "Not a condition: 'amount' is a number"), ("amount | 1 > 0", "'|' is not allowed")],
)
def test_a_bitwise_operator_or_a_bare_value_is_a_form_error_naming_it(history, expression, says):
    response = get(browser(factories.user("alice", "analyst")), expression)

    assert response.status_code == 200
    assert response.context["result"] is None
    assert says in response.context["form"].errors["expression"][0]


def test_a_bad_period_is_a_form_error(history):
    response = get(browser(factories.user("alice", "analyst")), "amount > 1", since="someday")

    assert response.status_code == 200
    assert "since" in response.context["form"].errors


def test_managers_and_outsiders_are_refused(history):
    for user in (factories.user("mia", "manager"), factories.user("oscar")):
        assert get(browser(user), "amount > 1").status_code == 403
        response = browser(user).post(
            "/rules/console/draft", {"expression": "amount > 1", "name": "x", "action": "review"}
        )
        assert response.status_code == 403
    assert not Rule.objects.exists()


# --- save as draft rule ------------------------------------------------------------------


def draft(client: Client, **fields: str) -> Any:
    body = {"expression": "amount > 300 and country != 'FR'", "name": "big_not_fr",
            "action": "review", "since": "2026-01-05", "until": "2026-01-07", **fields}  # fmt: skip
    return client.post("/rules/console/draft", body)


def test_saving_as_draft_proposes_the_rule_in_its_authors_draft_and_nothing_acts(history):
    analyst = factories.user("alice", "analyst")

    response = draft(browser(analyst))

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["expression"] == ["amount > 300 and country != 'FR'"]
    assert not Rule.objects.exists()  # in force only once someone else publishes the draft
    proposed = PolicyDraft.objects.get()
    assert (proposed.author, proposed.status) == (analyst, "draft")
    (change,) = proposed.changes["rules"]
    assert (change["name"], change["mode"], change["action"], change["expression"]) == (
        "big_not_fr",
        "live",
        "review",
        query["expression"][0],
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expression": "label == 'fraud'"}, "expression"),  # a console-only fact
        ({"expression": "amount >"}, "expression"),
        ({"expression": "amount + 1"}, "expression"),  # not a condition
        ({"name": "Not A Name"}, "name"),
        ({"action": "explode"}, "action"),
    ],
)
def test_a_draft_that_cannot_be_a_rule_is_a_form_error_and_saves_nothing(history, fields, field):
    response = draft(browser(factories.user("alice", "analyst")), **fields)

    assert response.status_code == 400
    assert field in response.context["draft_form"].errors
    assert not Rule.objects.exists()
    assert not PolicyDraft.objects.exists()


def test_a_draft_may_not_take_an_existing_rules_name(history):
    factories.rule("big_not_fr", "amount > 1", "decline")

    response = draft(browser(factories.user("alice", "analyst")))

    assert response.status_code == 400
    assert "name" in response.context["draft_form"].errors
    assert Rule.objects.get(name="big_not_fr").expression == "amount > 1"
    assert not PolicyDraft.objects.exists()
