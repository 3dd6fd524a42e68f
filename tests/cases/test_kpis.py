"""Managers' KPIs: counts per day, fraud caught or missed, the case backlog; managers only."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cases import charts, kpis, services
from cases.models import Case
from scoring.labels import label_add
from scoring.models import Decision, Transaction
from tests import factories

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager():
    return factories.user("mia", "manager")


@pytest.fixture
def traffic(api):
    """Yesterday: two approvals and one review; one approval and the review turn out fraud."""
    factories.rule("big", "amount > 100", "review")
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    ids = [
        api.post(
            "/api/v1/decisions", factories.payload(amount=amount, occurred_at=yesterday),
            format="json",
        ).json()["transaction_id"]
        for amount in ("20.00", "30.00", "500.00")
    ]  # fmt: skip
    for transaction_id in (ids[0], ids[2]):
        label_add(
            transaction=Transaction.objects.get(transaction_id=transaction_id),
            label="fraud",
            source="chargeback",
        )
    return ids


def test_decisions_and_fraud_are_counted_on_the_day_they_happened(traffic):
    since = (timezone.now() - timedelta(days=2)).replace(hour=0, minute=0)
    decisions = kpis.decisions_daily(since=since, until=timezone.now())
    fraud = kpis.fraud_daily(since=since, until=timezone.now())

    yesterday = decisions.days.index((timezone.now() - timedelta(days=1)).date())
    assert decisions.series["approve"][yesterday] == 2
    assert decisions.series["review"][yesterday] == 1
    assert (fraud.series["caught"][yesterday], fraud.series["missed"][yesterday]) == (1, 1)
    assert fraud.series["caught_amount"][yesterday] == 500.0
    assert kpis.total(decisions.series["approve"]) == 2
    assert decisions.series["latency"][0] is None  # no decisions that day: a gap, not 0


def test_the_backlog_counts_open_claimed_and_overdue_cases(traffic, api):
    analyst = factories.user("alice", "analyst")
    factories.review_everything()
    open_case = factories.case_via_api(api)
    services.case_claim_next(user=analyst)
    open_case.refresh_from_db()
    Case.objects.filter(pk=open_case.pk).update(sla_due_at=timezone.now() - timedelta(minutes=1))

    backlog = kpis.case_backlog(since=timezone.now() - timedelta(days=1))

    assert (backlog.open, backlog.claimed, backlog.escalated) == (1, 1, 0)
    assert backlog.sla_breached == 1  # the other case is still within its SLA


def test_a_manager_sees_the_dashboard_with_its_figures(traffic, manager):
    response = browser(manager).get("/kpis/?days=7")

    assert response.status_code == 200
    assert response.context["decided"] == Decision.objects.count() == 3
    assert response.context["caught_rate"] == 0.5
    assert len(response.context["charts"]) == 4
    assert 'id="kpi-figure-1" type="application/json"' in response.text


def test_people_without_the_manager_role_get_403(traffic):
    for user in (factories.user("alice", "analyst"), factories.user("oscar")):
        assert browser(user).get("/kpis/").status_code == 403


def test_a_bad_period_is_refused_with_400(manager):
    for days in ("0", "400", "week"):
        response = browser(manager).get(f"/kpis/?days={days}")
        assert response.status_code == 400
        assert b"days" in response.content


def test_a_chart_with_nothing_in_the_period_says_so_instead_of_drawing_empty_axes():
    empty = json.loads(charts.grouped_bars({}, title="Verdicts per analyst", colors={}))
    full = json.loads(
        charts.grouped_bars({"alice": {"fraud": 2}}, title="Verdicts per analyst", colors={})
    )

    assert [a["text"] for a in empty["layout"]["annotations"]] == ["Nothing in this period"]
    assert empty["layout"]["xaxis"]["visible"] is False
    assert "annotations" not in full["layout"]
    assert full["data"][0]["y"] == [2]
