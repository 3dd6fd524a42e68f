"""An analyst decides by keyboard in a real browser (Debian's chromium via Playwright, a live
ASGI server): claims a case with "c", sees the SHAP walk drawn and the verdict panel still in
view at the bottom of the page, gets the missing-verdict error beside the field, chooses
fraud with "f" and lands on the next case with "n" (issue 15, Done-when 1, analyst).

Screenshots: ``tests.browser.shot``.
"""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, CaseStatus
from scoring.lifecycle import model_promote
from scoring.models import LabelEvent
from tests import factories
from tests.browser import PASSWORD, post_decision, shot
from tests.scoring.test_model import version_for

pytestmark = pytest.mark.django_db(transaction=True)


def _in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_an_analyst_claims_decides_by_keyboard_and_lands_on_the_next_case(
    live_server_url,
    chromium,
    trained_model,
):
    base = live_server_url
    issued = factories.integrator("acme")
    factories.review_everything()
    model_promote(version=version_for(trained_model, "m-keys"), actor=None, reason="test")
    factories.user("alice", "analyst", password=PASSWORD)
    # Two customers' first payments (one customer's second, seconds later, the model declines)
    decided = [
        post_decision(base, issued.key, factories.payload(amount="640.00")),
        post_decision(base, issued.key, factories.payload(
            amount="15.00", customer_id="cust-2", card_id="card-tok-2", device_id="dev-2",
            ip="203.0.113.8", email="bea@example.com",
        )),
    ]  # fmt: skip
    assert [d["outcome"] for d in decided] == ["review", "review"], decided
    first, second = (Case.objects.get(decision_id=d["decision_id"]) for d in decided)

    shots = []
    page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{base}/accounts/login/?next=/cases/{first.pk}/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases/{first.pk}/")
    assert "c claim" in page.inner_text("#key-hint")

    page.keyboard.press("c")
    page.wait_for_selector("#verdict-form")
    assert Case.objects.get(pk=first.pk).status == CaseStatus.CLAIMED
    page.wait_for_selector("#shap-chart .main-svg", timeout=10_000)  # Plotly drew the walk
    assert page.locator("#shap-chart .bars .point").count() >= 3
    assert "f fraud" in page.inner_text("#key-hint")
    shots.append(shot(page, "1-claimed"))

    page.mouse.wheel(0, 5000)  # the evidence scrolls; the verdict panel stays in view
    page.wait_for_function("window.scrollY > 200")
    assert _in_view(page, "#verdict-next")
    shots.append(shot(page, "2-scrolled", full_page=False))

    page.keyboard.press("n")  # no verdict chosen yet: refused beside the field
    page.wait_for_selector("#id_verdict_error")
    assert "This field is required." in page.inner_text("#id_verdict_error")
    assert _in_view(page, "#id_verdict_error")
    shots.append(shot(page, "3-error-inline", full_page=False))

    page.keyboard.press("Escape")  # leave the field the error focused
    page.keyboard.press("f")
    assert page.input_value("#id_verdict") == "fraud"
    page.keyboard.press("n")
    page.wait_for_url(f"{base}/cases/{second.pk}/")
    page.wait_for_selector("#verdict-form")
    shots.append(shot(page, "4-next-case"))

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.verdict) == (CaseStatus.DECIDED, "fraud")
    assert second.status == CaseStatus.CLAIMED
    assert second.assignee is not None
    assert second.assignee.get_username() == "alice"
    assert LabelEvent.objects.filter(label="fraud").count() == 1
    assert [p.name for p in shots] == [
        "1-claimed.png", "2-scrolled.png", "3-error-inline.png", "4-next-case.png",
    ]  # fmt: skip
