"""An admin changes the rules in a real browser (Debian's chromium via Playwright, a live ASGI
server), through the Django admin's rule form, which saves into the admin's draft (issue 15,
Done-when 1, admin): an expression comparing text with a number, then one with a syntax
error, are refused beside the field and save nothing; a valid one goes into a draft, and the
admin backtests the draft and reads what it would change. Screenshots:
``tests.browser.shot``.

The decisions are made now, so the backtest's last 7 days hold them by construction.
"""

from typing import Any

import pytest

from rules.models import PolicyBacktest, PolicyDraft, Rule
from tests import factories
from tests.browser import PASSWORD, log_in, post_decision, shot

pytestmark = pytest.mark.django_db(transaction=True)

EXPRESSION_ERROR = ".form-row.field-expression .errorlist"


def _submitted(page: Any, expression: str) -> None:
    page.fill("#id_expression", expression)
    page.click("input[name=_save]")
    page.wait_for_load_state("domcontentloaded")


def test_an_admin_is_refused_bad_expressions_in_the_rule_form_then_backtests_a_good_one(
    live_server_url: str,
    chromium: Any,
    eager: None,
) -> None:
    issued = factories.integrator("acme")
    for amount in ("20.00", "500.00", "900.00"):  # no rule yet: all three approved
        decided = post_decision(live_server_url, issued.key, factories.payload(amount=amount))
        assert decided["outcome"] == "approve"
    ada = factories.user("ada", "admin", password=PASSWORD)
    ada.is_staff = True
    ada.save(update_fields=["is_staff"])

    page = log_in(chromium, live_server_url, "ada", "/admin/rules/rule/add/")
    page.fill("#id_name", "big_amounts")
    page.select_option("#id_action", "review")
    _submitted(page, "country == 1")
    assert page.is_visible(EXPRESSION_ERROR)
    assert "Type mismatch: 'country' is text but 1 is a number" in page.inner_text(EXPRESSION_ERROR)
    assert page.input_value("#id_expression") == "country == 1"  # kept, to be corrected
    # The cursor is in the field in error (static/js/form_error_focus.js), not at the top.
    assert page.evaluate("document.activeElement.id") == "id_expression"
    assert (Rule.objects.count(), PolicyDraft.objects.count()) == (0, 0)
    shot(page, "1-admin-type-mismatch")

    _submitted(page, "amount >")
    error = page.inner_text(EXPRESSION_ERROR)
    assert "Syntax error at line 1, column 9: the expression ends too soon." in error
    # The caret stands under the column where the expression ends (its lines are kept).
    assert "amount >\n        ^" in error
    assert (Rule.objects.count(), PolicyDraft.objects.count()) == (0, 0)
    shot(page, "2-admin-syntax-error")

    _submitted(page, "amount > 400 | 1")
    assert "The operator '|' is not allowed" in page.inner_text(EXPRESSION_ERROR)
    page.fill("#id_name", "Not A Name")  # now two fields in error: the first one has the cursor
    _submitted(page, "amount")
    assert "Not a condition: 'amount' is a number" in page.inner_text(EXPRESSION_ERROR)
    assert page.evaluate("document.activeElement.id") == "id_name"
    # A long error wraps inside a narrow page (static/css/rule_expression.css), never widens it.
    size = page.viewport_size
    page.set_viewport_size({"width": 640, "height": 800})
    _submitted(page, "country == 1")
    assert "Type mismatch" in page.inner_text(EXPRESSION_ERROR)
    error = page.locator(f"{EXPRESSION_ERROR} li").first
    assert error.evaluate("li => li.scrollWidth - li.clientWidth") <= 0  # it does not spill out
    page.set_viewport_size(size)
    assert (Rule.objects.count(), PolicyDraft.objects.count()) == (0, 0)
    page.fill("#id_name", "big_amounts")

    _submitted(page, "amount > 400")
    draft = PolicyDraft.objects.get()
    page.wait_for_url(f"{live_server_url}/admin/rules/policydraft/{draft.pk}/change/")
    assert "It goes live when someone else publishes it" in page.inner_text(".messagelist")
    assert "amount > 400 → review" in page.inner_text("#draft-changes")
    assert not Rule.objects.exists()  # a draft decides nothing
    shot(page, "3-admin-draft")

    page.fill("input[name=days]", "7")
    page.click("input[value='Run a backtest']")
    page.wait_for_selector("#backtest-summary", timeout=20_000)
    assert PolicyBacktest.objects.get(draft=draft).status == "done"
    assert page.inner_text("#backtest-changed") == "2"  # 500 and 900 would be reviewed
    summary = page.inner_text("#backtest-summary")
    assert "approve 3" in summary
    assert "big_amounts 2" in summary
    assert page.locator("#backtest-samples tbody tr").count() == 2
    shot(page, "4-admin-backtested")
