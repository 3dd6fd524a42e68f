"""The per-rule page and the console in a real browser (Debian's chromium via Playwright, a
live server): the trend and matches charts draw, and a console query is saved as a rule that
does not act."""

import pytest

from rules.models import PolicyDraft, Rule
from tests import factories
from tests.browser import PASSWORD, log_in, shot
from tests.rules.test_performance import seed_history

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_rule_page_draws_its_trend_and_the_console_saves_a_rule_that_does_not_act(
    live_server_url,
    chromium,
    settings,
):
    seed_history(settings)
    factories.user("mia", "manager", password=PASSWORD)
    factories.user("alice", "analyst", password=PASSWORD)
    period = "since=2026-01-05&until=2026-01-07"

    page = log_in(chromium, live_server_url, "mia", f"/rules/performance?{period}")

    page.wait_for_selector("#rules-figure-1-plot .main-svg", timeout=10_000)
    assert page.locator("#rules-figure-1-plot .scatterlayer .trace").count() == 3  # the rules
    assert page.locator("#rules-table tbody tr").count() == 3
    assert page.inner_text("#rules-decisions") == "7"
    shot(page, "rules-1-performance")

    page = log_in(chromium, live_server_url, "alice", "/rules/console")
    page.fill("#id_expression", "amount > 250")
    page.fill("#id_since", "2026-01-05")
    page.fill("#id_until", "2026-01-07")
    page.click("#console-form button[type=submit]")
    page.wait_for_selector("#console-figure-1-plot .main-svg", timeout=10_000)
    assert page.inner_text("#console-matched") == "3"  # t1 500, t2 300, t5 700
    shot(page, "rules-2-console")

    page.fill("#console-draft #id_name", "big_amounts")
    page.click("#console-draft button[type=submit]")
    page.wait_for_selector(".messages .success")
    assert "big_amounts" in page.inner_text(".messages")
    (change,) = PolicyDraft.objects.get().changes["rules"]
    assert (change["name"], change["expression"], change["mode"]) == (
        "big_amounts",
        "amount > 250",
        "live",
    )
    assert not Rule.objects.filter(name="big_amounts").exists()
