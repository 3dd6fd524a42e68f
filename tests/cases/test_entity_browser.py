"""Entity profiles, the network view and the accessibility check in a real browser (Debian's
chromium via Playwright, a live ASGI server). Screenshots: ``tests.browser.shot``.

axe-core (static/vendor/axe-core, vendored for the tests only) is injected into each page:
the queue, a case, an entity profile, the KPIs and the login page have no serious or critical
violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests import factories
from tests.browser import PASSWORD, log_in, shot
from tests.cases.entity_seed import shared_world

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"

# A node's place on the page, from vis-network's canvas coordinates.
NODE_ON_PAGE = """(id) => {
  const network = window.fraudopsNetwork;
  const at = network.canvasToDOM(network.getPositions([id])[id]);
  const box = document.getElementById("network").getBoundingClientRect();
  return { x: box.left + at.x, y: box.top + at.y };
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


def _serious(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_an_analyst_opens_a_profile_then_the_network_and_clicks_a_node(
    live_server_url,
    chromium,
):
    case = shared_world()
    factories.user("alice", "analyst", password=PASSWORD)
    base = live_server_url

    page = log_in(chromium, base, "alice", "/entities/customer/c-alice")
    assert page.inner_text("#agg-transactions") == "3"
    assert page.inner_text("#agg-fraud") == "1"
    assert page.locator("#timeline tbody tr").count() == 3
    shot(page, "entity-1-profile")

    page.click("#linked a[href='/entities/device/d-shared']")
    page.wait_for_url(f"{base}/entities/device/d-shared")
    assert page.inner_text("#agg-transactions") == "3"

    page.goto(f"{base}/cases/{case.pk}/")
    page.click("#network-link")
    page.wait_for_url(f"{base}/cases/{case.pk}/network")
    page.wait_for_selector("#network[data-state=ready]", timeout=15_000)
    assert page.locator("#network canvas").count() == 1
    assert page.inner_text("#network-status") == "3 linked customers."
    assert page.locator("#network-table tbody tr").count() == 4
    shot(page, "entity-2-network")

    where = page.evaluate(NODE_ON_PAGE, "customer:c-carol")
    page.mouse.click(where["x"], where["y"])
    page.wait_for_url(f"{base}/entities/customer/c-carol", timeout=5000)
    assert page.inner_text("#agg-transactions") == "1"
    shot(page, "entity-3-clicked-node")


def test_axe_finds_no_serious_violation_on_the_queue_case_entity_kpi_and_login_pages(
    live_server_url,
    chromium,
):
    case = shared_world()
    factories.user("ada", "admin", password=PASSWORD)  # works cases and sees the KPIs
    base = live_server_url
    found: dict[str, list[dict[str, Any]]] = {}

    login = chromium.new_context().new_page()
    login.goto(f"{base}/accounts/login/")
    found["login"] = _serious(login)

    page = log_in(chromium, base, "ada", "/cases/")
    found["queue"] = _serious(page)
    for name, url in (
        ("case", f"/cases/{case.pk}/"),
        ("entity", "/entities/customer/c-alice"),
        ("network", f"/cases/{case.pk}/network"),
        ("kpis", "/kpis/?days=365"),  # the seed's days (60 days back): figures with data
    ):
        page.goto(f"{base}{url}")
        page.wait_for_load_state("networkidle")
        shot(page, f"axe-{name}")
        found[name] = _serious(page)

    assert found == {name: [] for name in found}, found
