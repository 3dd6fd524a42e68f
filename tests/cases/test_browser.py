"""Two analysts in two real browsers (Debian's chromium, driven by Playwright) against a live
ASGI server with the configured channel layer (Redis in CI): the queue updates itself.
"""

from __future__ import annotations

import time

import pytest

from cases.models import Case, CaseStatus
from scoring.lifecycle import model_promote
from scoring.models import LabelEvent
from tests import factories
from tests.browser import LIVE_WITHIN_MS, PASSWORD, logged_in, post_decision, shot
from tests.scoring.test_model import version_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_analysts_see_a_case_arrive_get_claimed_and_leave_without_reloading(
    live_server_url, chromium, trained_model
):
    base = live_server_url
    issued = factories.integrator("acme")
    factories.review_everything()
    model_promote(version=version_for(trained_model, "m-browser"), actor=None, reason="test")
    factories.user("alice", "analyst", password=PASSWORD)
    factories.user("bob", "analyst", password=PASSWORD)
    alice, bob = logged_in(chromium, base, "alice"), logged_in(chromium, base, "bob")

    posted_at = time.monotonic()
    decision = post_decision(base, issued.key, factories.payload(amount="640.00"))
    case = Case.objects.get(decision_id=decision["decision_id"])
    row = f"#case-{case.pk}"
    alice.wait_for_selector(row, timeout=LIVE_WITHIN_MS)
    bob.wait_for_selector(row, timeout=LIVE_WITHIN_MS)
    arrived_ms = (time.monotonic() - posted_at) * 1000
    shot(alice, "1-alice-queue-case-arrived")
    shot(bob, "1-bob-queue-case-arrived")

    alice.click("#next-case")
    alice.wait_for_url(f"{base}/cases/{case.pk}/")
    alice.wait_for_selector("#shap-chart .main-svg", timeout=5000)  # Plotly drew the chart
    bob.wait_for_selector(f"{row}[data-status=claimed]", timeout=LIVE_WITHIN_MS)
    assert "alice" in bob.inner_text(row)
    shot(alice, "2-alice-case-page")
    shot(bob, "2-bob-queue-case-claimed-by-alice")

    alice.select_option("#id_verdict", "fraud")
    alice.fill("#id_note", "Customer confirmed they did not pay")
    alice.click("#verdict-form button[type=submit]")
    alice.wait_for_url(f"{base}/cases/")
    bob.wait_for_selector(row, state="detached", timeout=LIVE_WITHIN_MS)
    shot(alice, "3-alice-queue-after-verdict")
    shot(bob, "3-bob-queue-case-gone")

    assert arrived_ms < LIVE_WITHIN_MS
    assert alice.query_selector(row) is None
    label = LabelEvent.objects.get(transaction__transaction_id=decision["transaction_id"])
    assert (label.label, label.source) == ("fraud", "analyst")
    case.refresh_from_db()
    assert (case.status, case.verdict) == (CaseStatus.DECIDED, "fraud")
