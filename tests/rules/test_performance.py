"""The per-rule performance page: each rule's hits, precision, fraud caught, legit challenged
and overlap over a period, from what the decisions recorded and labels as of a moment; for
managers, leads and admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from rules.performance import (
    LIVE,
    SHADOW,
    FiredRow,
    rules_performance,
    rules_sorted,
    rules_tally,
)
from scoring.labels import label_add
from scoring.models import Decision, Integrator, Transaction
from scoring.records import RuleFiredRecord
from tests import factories

pytestmark = pytest.mark.django_db

# Fixed dates: the period is three days of January 2026; labels are read as of the 20th, when
# none of these payments is past its 30-day maturity (an unreported one is not known yet).
DAY = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)
MOMENT = datetime(2026, 1, 20, tzinfo=UTC)


def fired(name: str, action: str) -> RuleFiredRecord:
    return {"rule": name, "version": 1, "action": action, "expression": "amount > 0"}


def decided(
    txn_id: str, amount: str, rules: list[RuleFiredRecord], *, days: int = 0,
    label: str | None = None, outcome: str = "review",
) -> Decision:  # fmt: skip
    integrator = Integrator.objects.get_or_create(name="acme")[0]
    txn = Transaction.objects.create(
        integrator=integrator, transaction_id=txn_id, occurred_at=DAY + timedelta(days=days),
        amount=Decimal(amount), currency="EUR", customer_id="c1", merchant_id="m1",
        channel="ecom", request_hash="0" * 64,
    )  # fmt: skip
    if label is not None:
        label_add(transaction=txn, label=label, source="chargeback", reported_at=DAY)
    return Decision.objects.create(
        transaction=txn, outcome=outcome, rules=rules, policy_revision=1, latency_ms=1.0,
        features={"amount": float(amount)},
    )  # fmt: skip


@pytest.fixture
def history(settings):
    seed_history(settings)


def seed_history(settings: Any) -> None:
    """Seven decisions in the period, one before it. By hand:

    big (review):    t1 fraud 500, t2 legit 300 (with night), t5 unknown 700
    night (decline): t2 legit 300 (with big), t3 fraud 200 (day 2)
    vip (allow):     t6 legit 10
    no rule:         t4 fraud 50, t7 legit 20
    before the period: t0, big, fraud 999
    """
    settings.LABEL_MATURITY_DAYS = 30
    big, night, vip = fired("big", "review"), fired("night", "decline"), fired("vip", "allow")
    decided("t0", "999", [big], days=-1, label="fraud")
    decided("t1", "500", [big], label="fraud")
    decided("t2", "300", [big, night], label="legit")
    decided("t3", "200", [night], days=2, label="fraud")
    decided("t4", "50", [], label="fraud", outcome="approve")
    decided("t5", "700", [big], days=1)
    decided("t6", "10", [vip], label="legit", outcome="approve")
    decided("t7", "20", [], label="legit", outcome="approve")


def by_name(report: Any) -> dict[str, Any]:
    return {row.name: row for row in report.rows}


def test_each_rules_figures_equal_those_computed_by_hand(history):
    report = rules_performance(since=SINCE, until=UNTIL, moment=MOMENT)
    rows = by_name(report)

    assert report.decisions == 7
    big, night, vip = rows["big"], rows["night"], rows["vip"]
    assert (big.mode, big.action, big.hits, big.labelled) == (LIVE, "review", 3, 2)
    assert big.hit_rate == pytest.approx(3 / 7)
    assert big.precision == 0.5
    assert big.fraud_amount == 500.0
    assert big.legit_challenged == 1
    assert (big.unique, big.overlap, big.top_overlap) == (2, 1, ("night", 1))
    assert (night.hits, night.precision, night.fraud_amount) == (2, 0.5, 200.0)
    assert (night.legit_challenged, night.unique, night.overlap) == (1, 1, 1)
    assert (vip.hits, vip.precision, vip.legit_challenged, vip.challenges) == (1, 0.0, 0, False)
    assert report.days == [
        SINCE.date(),
        (SINCE + timedelta(days=1)).date(),
        UNTIL.date() - timedelta(days=1),
    ]
    assert report.daily(big) == [2, 1, 0]
    assert report.daily(night) == [1, 0, 1]
    assert report.decisions_daily == [5, 1, 1]


def test_a_label_reported_after_the_moment_is_not_known_yet(history, settings):
    early = datetime(2026, 1, 4, tzinfo=UTC)  # before the chargebacks were reported

    rows = by_name(rules_performance(since=SINCE, until=UNTIL, moment=early))

    assert rows["big"].labelled == 0
    assert rows["big"].precision is None


def test_past_the_maturity_an_unreported_payment_counts_as_legit(history):
    rows = by_name(rules_performance(since=SINCE, until=UNTIL, moment=MOMENT + timedelta(days=30)))

    assert (rows["big"].labelled, rows["big"].precision) == (3, pytest.approx(1 / 3))


def test_an_enabled_rule_that_never_fired_is_listed_with_no_hits(history):
    factories.rule("dormant", "amount > 1000000", "decline")

    rows = by_name(rules_performance(since=SINCE, until=UNTIL, moment=MOMENT))

    assert rows["dormant"].hits == 0
    assert rows["dormant"].hit_rate == 0.0


def test_the_reads_take_a_few_queries_whatever_the_number_of_decisions(
    history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        rules_performance(since=SINCE, until=UNTIL, moment=MOMENT)


def test_shadow_hits_are_counted_apart_and_overlap_only_with_live_rules():
    rows = [
        FiredRow(1, DAY, 1, 100.0, live=[("big", "review")], shadow=[("new", "decline")]),
        FiredRow(2, DAY, 1, 40.0, live=[], shadow=[("new", "decline"), ("big", "review")]),
    ]

    tally = rules_tally(rows, {1: "fraud", 2: "legit"})

    new = tally[("new", SHADOW)]
    assert (new.hits, new.unique, new.precision, new.fraud_amount) == (2, 1, 0.5, 100.0)
    assert new.top_overlap == ("big", 1)
    # big in shadow (a new version beside the live one) does not overlap with itself
    assert (tally[("big", SHADOW)].unique, tally[("big", LIVE)].unique) == (1, 1)


def test_a_figure_not_known_sorts_last_either_way_and_ties_go_by_name(history):
    factories.rule("dormant", "amount > 1000000", "decline")  # no hits: precision unknown
    rows = rules_performance(since=SINCE, until=UNTIL, moment=MOMENT).rows

    ascending = rules_sorted(rows, key="precision", descending=False)
    descending = rules_sorted(rows, key="precision", descending=True)

    assert [row.name for row in ascending] == ["vip", "big", "night", "dormant"]
    assert [row.name for row in descending] == ["big", "night", "vip", "dormant"]


# --- the page ----------------------------------------------------------------------------


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


PERIOD = "since=2026-01-05&until=2026-01-07"


def test_a_manager_sees_every_rule_with_its_figures_and_the_trend_chart(history):
    response = browser(factories.user("mia", "manager")).get(f"/rules/performance?{PERIOD}")

    assert response.status_code == 200
    assert response.context["report"].decisions == 7
    assert [row.name for row in response.context["rows"]] == ["big", "night", "vip"]
    assert 'id="rules-figure-1" type="application/json"' in response.text
    assert 'id="rule-big-live"' in response.text


def test_rules_whose_precision_is_below_the_bar_are_highlighted(history, settings):
    settings.RULE_PRECISION_BAR = 0.6
    # labels as of now: the unreported payment (t5) is past its maturity, so legit
    response = browser(factories.user("lena", "lead")).get(f"/rules/performance?{PERIOD}")

    assert response.context["below"] == {"big", "night"}  # an allow rule is never flagged
    assert response.text.count('class="below-bar"') == 2

    settings.RULE_PRECISION_BAR = 0.2
    response = browser(factories.user("lena2", "lead")).get(f"/rules/performance?{PERIOD}")
    assert response.context["below"] == set()


def test_the_columns_sort_both_ways(history):
    client = browser(factories.user("mia", "manager"))

    by_hits = client.get(f"/rules/performance?{PERIOD}&sort=hits&order=asc").context["rows"]
    by_name_desc = client.get(f"/rules/performance?{PERIOD}&sort=name&order=desc").context["rows"]

    assert [row.name for row in by_hits] == ["vip", "night", "big"]
    assert [row.name for row in by_name_desc] == ["vip", "night", "big"]


def test_a_bad_period_or_sort_is_refused_with_400_naming_the_field(history):
    client = browser(factories.user("mia", "manager"))

    for query, field in (
        ("since=2026-13-01", "since"),
        ("since=2026-01-07&until=2026-01-05", "since"),
        ("since=2024-01-01&until=2026-01-05", "since"),
        ("sort=password", "sort"),
        ("order=sideways", "order"),
    ):
        response = client.get(f"/rules/performance?{query}")
        assert response.status_code == 400, query
        assert field in response.context["form"].errors, query


def test_analysts_and_outsiders_are_refused_and_anonymous_people_sent_to_log_in(history):
    for user in (factories.user("alice", "analyst"), factories.user("oscar")):
        assert browser(user).get("/rules/performance").status_code == 403

    response = Client().get("/rules/performance")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_navigation_links_the_page_for_those_who_may_see_it(history):
    manager = browser(factories.user("mia", "manager")).get("/rules/performance").text
    analyst = browser(factories.user("alice", "analyst")).get("/rules/console").text

    assert 'id="nav-rule-performance"' in manager
    assert 'id="nav-rule-console"' not in manager
    assert 'id="nav-rule-console"' in analyst
    assert 'id="nav-rule-performance"' not in analyst
