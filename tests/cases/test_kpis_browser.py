"""A manager's KPI dashboard in a real browser (Debian's chromium via Playwright, a live ASGI
server): each Plotly figure draws traces with points from the period's data, not an empty
frame (issue 15, Done-when 1, manager). Screenshots: ``tests.browser.shot``.

The traffic is placed yesterday and the day before, relative to now: inside the dashboard's
last 7 days by construction, whatever day the test runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case
from scoring.labels import label_add
from scoring.models import Transaction
from tests import factories
from tests.browser import PASSWORD, log_in, post_decision, shot

pytestmark = pytest.mark.django_db(transaction=True)

# What Plotly drew into one figure's div: its traces, and per trace the points with a value.
DRAWN = """(id) => {
  const div = document.querySelector(`[data-figure="${id}"]`);
  return (div.data || []).map((trace) => ({
    name: trace.name,
    points: (trace.y || []).filter((y) => y !== null && y !== 0).length,
  }));
}"""


def _traffic(base: str) -> None:
    """Two days of decisions: six approvals and three reviews; one approval and two reviews
    turn out fraud; alice decides two of the reviewed cases, bob one."""
    issued = factories.integrator("acme")
    factories.rule("big", "amount > 100", "review")
    alice = factories.user("alice", "analyst", password=PASSWORD)
    bob = factories.user("bob", "analyst", password=PASSWORD)
    now = timezone.now()
    for days_ago, amounts in ((1, ("20.00", "30.00", "500.00", "40.00", "900.00")),
                              (2, ("25.00", "35.00", "700.00", "45.00"))):  # fmt: skip
        at = (now - timedelta(days=days_ago)).isoformat()
        for amount in amounts:
            body = factories.payload(amount=amount, occurred_at=at)
            post_decision(base, issued.key, body)
    for amount in ("20.00", "500.00", "700.00"):
        label_add(
            transaction=Transaction.objects.get(amount=amount), label="fraud", source="chargeback"
        )
    for analyst, amount, verdict in ((alice, "500.00", "fraud"), (alice, "900.00", "legit"),
                                     (bob, "700.00", "fraud")):  # fmt: skip
        case = Case.objects.get(decision__transaction__amount=amount)
        services.case_claim(case=case, user=analyst)
        services.case_verdict(case=case, user=analyst, verdict=verdict, note="checked")


def test_a_manager_sees_every_kpi_figure_drawn_with_the_periods_data(
    live_server_url: str,
    chromium: Any,
) -> None:
    _traffic(live_server_url)
    factories.user("mia", "manager", password=PASSWORD)

    page = log_in(chromium, live_server_url, "mia", "/kpis/?days=7")
    for i in (1, 2, 3, 4):
        page.wait_for_selector(f"[data-figure=kpi-figure-{i}] .main-svg", timeout=10_000)
    assert page.inner_text("#kpi-decided") == "9"
    assert page.inner_text("#kpi-caught") == "67%"  # two of the three frauds were reviewed
    assert page.inner_text("#kpi-backlog") == "0 / 0 / 0"
    shot(page, "1-manager-kpis")

    outcomes = {t["name"]: t["points"] for t in page.evaluate(DRAWN, "kpi-figure-1")}
    assert (outcomes["approve"], outcomes["review"]) == (2, 2)  # two days of each
    fraud = {t["name"]: t["points"] for t in page.evaluate(DRAWN, "kpi-figure-2")}
    assert (fraud["caught"], fraud["missed"]) == (2, 1)
    (latency,) = page.evaluate(DRAWN, "kpi-figure-3")
    assert latency["points"] == 2
    verdicts = {t["name"]: t["points"] for t in page.evaluate(DRAWN, "kpi-figure-4")}
    assert verdicts == {"fraud": 2, "legit": 1}  # alice and bob; alice alone for legit

    # Drawn, not only handed to Plotly: bars for every day and analyst with a value, a line
    # with its markers.
    bars = "[data-figure={}] .main-svg .bars .point path"
    assert page.locator(bars.format("kpi-figure-1")).count() >= 4
    assert page.locator(bars.format("kpi-figure-2")).count() >= 3
    assert page.locator(bars.format("kpi-figure-4")).count() >= 3
    assert page.locator("[data-figure=kpi-figure-3] .scatterlayer .points path").count() >= 2
    assert page.locator("[data-figure=kpi-figure-3] .scatterlayer .js-line").count() == 1
    assert page.locator("#nav-cases, #nav-admin").count() == 0  # managers do not work cases
