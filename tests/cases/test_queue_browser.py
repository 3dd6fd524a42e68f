"""The queue as an analyst and a lead use it, in a real browser (Debian's chromium via
Playwright) against a live ASGI server: filters, a live row marked as it arrives and one marked
as it changes (a colleague claims it), a case opened, decided and the next one taken; a
reassignment refused inline for want of a reason, a bulk verdict confirmed, the filtered cases
exported. Screenshots: ``tests.browser.shot``.

The case page of this branch has no keyboard shortcuts: "next case" is taken with its button.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from cases.models import Case, CaseStatus
from scoring.models import LabelEvent
from tests import factories
from tests.browser import LIVE_WITHIN_MS, PASSWORD, logged_in, post_decision, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served(live_server_url):
    """The live server's URL and a function that posts a transaction to it (every one is
    reviewed) and answers its case."""
    issued = factories.integrator("acme")
    factories.review_everything()

    def case_posted(**overrides: Any) -> Case:
        decision = post_decision(live_server_url, issued.key, factories.payload(**overrides))
        return Case.objects.get(decision_id=decision["decision_id"])

    return live_server_url, case_posted


def in_view(page: Any, selector: str) -> bool:
    """The element is wholly inside the browser's viewport (not merely on the page)."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and 0 <= box["y"] <= box["y"] + box["height"] <= size["height"]
        and 0 <= box["x"] <= box["x"] + box["width"] <= size["width"]
    )


def shown_cases(page: Any) -> set[int]:
    return {
        int(x)
        for x in page.eval_on_selector_all("#case-rows tr", "rs => rs.map(r => r.dataset.case)")
    }


def test_an_analyst_filters_the_queue_sees_a_case_arrive_decides_one_and_takes_the_next(
    served,
    chromium,
):
    base, case_posted = served
    big = case_posted(amount="2400.00", customer_id="c-big")
    small = case_posted(amount="40.00", customer_id="c-small")
    other = case_posted(amount="45.00", customer_id="c-other")
    transfer = case_posted(amount="60.00", channel="transfer", customer_id="c-transfer")
    factories.user("alice", "analyst", password=PASSWORD)
    factories.user("bob", "analyst", password=PASSWORD)
    page = logged_in(chromium, base, "alice")
    assert shown_cases(page) == {big.pk, small.pk, other.pk, transfer.pk}
    assert page.locator("#nav-kpis, #nav-admin, #nav-metrics").count() == 0

    page.select_option("#id_amount", "under-100")
    page.select_option("#id_channel", "ecom")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/\?.*channel=ecom"))
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    assert shown_cases(page) == {small.pk, other.pk}
    assert page.inner_text(f"#case-{small.pk} .score") == "–"  # no model: rules decided
    assert "left" in page.inner_text(f"#case-{small.pk} .sla")
    assert "review" in page.inner_text(f"#case-{small.pk}")
    shot(page, "1-analyst-queue-filtered")

    # A case that fails the filters stays out; one that passes arrives marked as new.
    case_posted(amount="30.00", channel="transfer")
    arrived = case_posted(amount="30.00", customer_id="c-new")
    page.wait_for_selector(f"#case-{arrived.pk}.row-fresh[data-fresh=new]", timeout=LIVE_WITHIN_MS)
    page.wait_for_timeout(300)  # the transfer's row answer (204) has long come back
    assert shown_cases(page) == {small.pk, other.pk, arrived.pk}
    shot(page, "2-analyst-new-case-marked")

    # A colleague claims a case: its row changes in place, marked as changed.
    colleague = logged_in(chromium, base, "bob")
    colleague.click(f"#case-{other.pk} button:has-text('Claim')")
    colleague.wait_for_url(f"{base}/cases/{other.pk}/")
    changed = f"#case-{other.pk}[data-status=claimed].row-fresh[data-fresh=changed]"
    page.wait_for_selector(changed, timeout=LIVE_WITHIN_MS)
    assert "bob" in page.inner_text(f"#case-{other.pk} .status")
    shot(page, "2b-analyst-claimed-case-marked")
    colleague.context.close()

    page.click(f"#case-{small.pk} a[href='/cases/{small.pk}/']")
    page.wait_for_url(f"{base}/cases/{small.pk}/")
    page.click(f"form[action='/cases/{small.pk}/claim'] button")
    page.wait_for_url(f"{base}/cases/{small.pk}/")
    page.select_option("#verdict-form select[name=verdict]", "legit")
    page.fill("#verdict-form textarea[name=note]", "Customer confirmed the purchase")
    shot(page, "3-analyst-case-deciding")
    page.click("#verdict-form button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/(\?.*)?$"))

    # The case page of this branch has no keyboard shortcuts: "next case" is the button.
    page.click("#next-case")
    page.wait_for_url(re.compile(rf"{base}/cases/\d+/$"))
    shot(page, "4-analyst-next-case")
    taken = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert taken == big.pk  # the most urgent open case
    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.status, big.assignee.get_username()) == (CaseStatus.CLAIMED, "alice")
    assert (small.status, small.verdict) == (CaseStatus.DECIDED, "legit")


def test_a_lead_is_told_a_reason_is_missing_decides_in_bulk_after_confirming_and_exports(
    served,
    chromium,
):
    base, case_posted = served
    first, second, third = (
        case_posted(amount=amount, customer_id=f"c-{amount}")
        for amount in ("120.00", "130.00", "140.00")
    )
    factories.user("alice", "analyst", password=PASSWORD)
    factories.user("lena", "lead", password=PASSWORD)
    page = logged_in(chromium, base, "lena")

    # Nothing chosen, no verdict: refused, in words, above the rows.
    assert page.input_value("#bulk-verdict") == ""
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-errors")
    errors = page.inner_text("#bulk-errors")
    assert "Choose at least one case." in errors
    assert "Choose a verdict: fraud, legit or inconclusive." in errors
    assert "required" not in errors
    shot(page, "1-lead-bulk-refused-in-words")

    # A reassignment without a reason is refused where the form is.
    page.goto(f"{base}/cases/{first.pk}/")
    reassign = f"form[action='/cases/{first.pk}/reassign']"
    page.click(f"details:has({reassign}) summary")
    page.select_option(f"{reassign} select[name=to_user]", label="alice")
    page.fill(f"{reassign} textarea[name=reason]", "   ")  # passes the browser, not the server
    page.click(f"{reassign} button[type=submit]")
    page.wait_for_selector(f"{reassign} .errorlist", state="attached")
    # Beside the reason field, its section unfolded and in view, the field focused: the lead
    # need not look for it.
    error = f"{reassign} .field.has-error:has(textarea[name=reason]) .errorlist"
    assert page.is_visible(error)
    assert page.eval_on_selector(f"details:has({reassign})", "d => d.open")
    assert in_view(page, error)
    assert page.evaluate("document.activeElement.name") == "reason"
    assert "required" in page.inner_text(error)
    shot(page, "2-lead-reassign-reason-missing", full_page=False)
    page.fill(f"{reassign} textarea[name=reason]", "Alice knows this merchant")
    page.click(f"{reassign} button[type=submit]")
    page.wait_for_url(f"{base}/cases/{first.pk}/")
    first.refresh_from_db()
    assert first.assignee.get_username() == "alice"

    # Select all, leave one out, decide the rest: a confirmation first.
    page.goto(f"{base}/cases/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.check("#select-all")
    assert page.locator("input[name=cases]:checked").count() == 3
    page.uncheck(f"#case-{third.pk} input[name=cases]")
    assert page.inner_text("#bulk-count") == "2 selected"
    assert page.eval_on_selector("#select-all", "box => box.indeterminate")
    page.select_option("#bulk-verdict", "legit")
    page.fill("#bulk-note", "Known merchant, refunds issued")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-confirm")
    assert "Decide 2 cases as legit?" in page.inner_text("h1")
    assert not LabelEvent.objects.exists()  # nothing decided before the confirmation
    shot(page, "3-lead-bulk-confirm")
    page.click("#bulk-confirm-submit")
    page.wait_for_url(f"{base}/cases/")
    assert "2 cases decided: legit." in page.inner_text(".messages")
    assert shown_cases(page) == {third.pk}
    decided = Case.objects.filter(pk__in=[first.pk, second.pk])
    assert {(c.status, c.verdict) for c in decided} == {(CaseStatus.DECIDED, "legit")}
    shot(page, "4-lead-after-bulk")

    with page.expect_download() as download:
        page.click("#export-filtered")
    body = Path(download.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["case", "status", "priority"]
    assert [row[0] for row in rows[1:]] == [str(third.pk)]
