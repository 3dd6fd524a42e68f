"""From a console query to a rule in force, in a real browser (Debian's chromium via
Playwright, a live server): an admin finds payments in the investigation console and saves the
query as a draft rule; they cannot publish it themselves (four eyes); a lead backtests and
publishes it; the next matching transaction gets the rule's outcome, and a non-matching one
does not."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from rules.models import DraftStatus, PolicyBacktest, PolicyDraft, Rule
from scoring.models import Decision
from tests import factories
from tests.browser import PASSWORD, log_in, shot
from tests.rules.test_performance import seed_history

pytestmark = pytest.mark.django_db(transaction=True)


def _staff(username: str, role: str) -> Any:
    person = factories.user(username, role, password=PASSWORD)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    return person


def _decided(amount: str) -> tuple[str, list[tuple[str, int]]]:
    """Post a transaction of ``amount`` to the decision API: its outcome and rule hits."""
    api = APIClient(SERVER_NAME="localhost")
    api.credentials(HTTP_AUTHORIZATION=f"Token {factories.integrator().key}")
    response = api.post("/api/v1/decisions", factories.payload(amount=amount), format="json")
    assert response.status_code == 201, response.content
    hits = Decision.objects.get(pk=response.json()["decision_id"]).rules
    return response.json()["outcome"], [(hit["rule"], hit["version"]) for hit in hits]


def test_a_console_query_saved_as_a_draft_and_published_by_a_lead_decides_the_next_payment(
    live_server_url: str,
    chromium: Any,
    settings: Any,
    eager: None,
) -> None:
    settings.DECISION_MAX_AGE_DAYS = 100 * 365  # fixed dates, whatever day the suite runs
    seed_history(settings)
    _staff("ada", "admin")
    lee = _staff("lee", "lead")
    assert _decided("400.00") == ("approve", [])  # before: nothing catches it

    # The admin's console query, over the seeded decisions of 5-7 January 2026.
    page = log_in(chromium, live_server_url, "ada", "/rules/console")
    page.fill("#id_expression", "amount > 250")
    page.fill("#id_since", "2026-01-05")
    page.fill("#id_until", "2026-01-07")
    page.click("#console-form button[type=submit]")
    page.wait_for_selector("#console-figure-1-plot .main-svg", timeout=10_000)
    assert page.inner_text("#console-matched") == "3"  # t1 500, t2 300, t5 700
    shot(page, "1-console")

    page.fill("#console-draft #id_name", "console_big")
    page.select_option("#console-draft #id_action", "review")
    page.click("#console-draft button[type=submit]")
    page.wait_for_selector(".messages .success")
    draft = PolicyDraft.objects.get()
    assert draft.author.username == "ada"
    assert not Rule.objects.filter(name="console_big").exists()
    assert _decided("400.00") == ("approve", [])  # a draft decides nothing

    # The author says why, in the admin; the publish button is refused to them.
    draft_url = f"/admin/rules/policydraft/{draft.pk}/change/"
    page.goto(f"{live_server_url}{draft_url}")
    assert "console_big" in page.inner_text("#draft-changes")
    assert "amount > 250 → review" in page.inner_text("#draft-changes")
    assert "disabled" not in page.inner_text("#draft-changes")  # a live rule, once published
    page.fill("textarea[name=reason]", "payments over 250 were mostly fraud in January")
    page.click("input[value='Save the reason']")
    page.wait_for_url(f"{live_server_url}{draft_url}")
    assert "four eyes" in page.inner_text("#publish-refusal")
    assert page.locator("input[value=Publish]").is_disabled()
    shot(page, "2-author-refused")
    # Even posting the form directly is refused (the button's state is not the guard).
    refused = page.request.post(
        f"{live_server_url}/admin/rules/policydraft/{draft.pk}/publish/",
        form={"csrfmiddlewaretoken": page.input_value("input[name=csrfmiddlewaretoken] >> nth=0")},
    )
    assert refused.status == 403
    assert PolicyDraft.objects.get(pk=draft.pk).status == DraftStatus.DRAFT

    # A lead, in another browser context: backtests (inline on commit under eager Celery, the
    # embedded default), waits for it to finish, publishes.
    page = log_in(chromium, live_server_url, "lee", draft_url)
    assert "payments over 250" in page.inner_text("#content")
    assert "Run a backtest" in page.inner_text("#publish-refusal")
    assert page.locator("input[value=Publish]").is_disabled()
    page.fill("input[name=days]", "30")
    page.click("input[value='Run a backtest']")
    page.wait_for_selector("#backtest-summary", timeout=20_000)
    backtest = PolicyBacktest.objects.get(draft=draft)
    assert (backtest.status, backtest.requested_by_id) == ("done", lee.pk)
    assert page.locator("#publish-refusal").count() == 0
    shot(page, "3-backtested")

    page.click("input[value=Publish]")
    page.wait_for_selector(".messagelist .success")
    assert page.inner_text("#draft-status") == "published"
    shot(page, "4-published")
    published = PolicyDraft.objects.get(pk=draft.pk)
    assert (published.status, published.published_by_id) == ("published", lee.pk)
    rule = Rule.objects.get(name="console_big")
    assert (rule.expression, rule.action, rule.mode) == ("amount > 250", "review", "live")

    # The next matching payment gets the rule's outcome, named at its new version.
    assert _decided("400.00") == ("review", [("console_big", rule.version)])
    assert _decided("100.00") == ("approve", [])
