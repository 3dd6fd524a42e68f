"""The workbench pages: roles enforced on every page, forms that refuse bad input."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseStatus
from scoring.models import Decision, LabelEvent
from tests import factories

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def every_case_url(case_id: int, queue_id: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("cases:queue")),
        ("get", reverse("cases:detail", args=[case_id])),
        ("get", reverse("cases:row", args=[case_id])),
        ("get", reverse("cases:export", args=[queue_id])),
        ("post", reverse("cases:next")),
        ("post", reverse("cases:claim", args=[case_id])),
        ("post", reverse("cases:renew", args=[case_id])),
        ("post", reverse("cases:verdict", args=[case_id])),
        ("post", reverse("cases:reassign", args=[case_id])),
        ("post", reverse("cases:escalate", args=[case_id])),
        ("post", reverse("cases:comment", args=[case_id])),
        ("post", reverse("cases:bulk-verdict")),
    ]


def test_a_user_without_a_role_gets_403_on_every_case_page(reviewing, outsider):
    case = factories.case_via_api(reviewing)
    client = browser(outsider)

    for method, url in every_case_url(case.pk, case.queue_id):
        response = getattr(client, method)(url, {"verdict": "fraud", "reason": "x", "text": "x"})
        assert response.status_code == 403, (method, url, response.status_code)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert not LabelEvent.objects.exists()


def test_an_integrators_api_key_opens_no_case_page(reviewing, issued):
    case = factories.case_via_api(reviewing)
    client = Client(HTTP_AUTHORIZATION=f"Token {issued.key}")

    response = client.get(reverse("cases:detail", args=[case.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_analyst_sees_the_queue_and_the_case_evidence(reviewing, analyst):
    for amount in ("12.00", "14.00"):
        factories.case_via_api(reviewing, amount=amount, customer_id="c-9")
    case = factories.case_via_api(reviewing, amount="480.00", customer_id="c-9", device_id="d-9")
    factories.case_via_api(reviewing, customer_id="c-other", device_id="d-9")
    client = browser(analyst)

    queue = client.get(reverse("cases:queue"))
    page = client.get(reverse("cases:detail", args=[case.pk]))

    assert queue.status_code == 200
    assert f'id="case-{case.pk}"' in queue.text
    assert page.status_code == 200
    assert "480.00 EUR" in page.text
    assert "c-other" in page.text  # another customer on the same device
    assert "Review everything" in page.text  # the rule's description, as a reason
    evidence = page.context["ev"]
    assert len(evidence.history) == 2
    assert next(f for f in evidence.features if f.name == "amount").usual == 13.0


def test_a_verdict_form_with_a_bad_choice_is_refused_with_a_form_error(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    client = browser(analyst)
    client.post(reverse("cases:claim", args=[case.pk]))

    response = client.post(reverse("cases:verdict", args=[case.pk]), {"verdict": "maybe"})

    assert response.status_code == 400
    assert "verdict" in response.context["verdict_form"].errors
    case.refresh_from_db()
    assert case.status == CaseStatus.CLAIMED


def test_a_verdict_through_the_page_labels_the_transaction(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    client = browser(analyst)
    client.post(reverse("cases:next"))

    response = client.post(
        reverse("cases:verdict", args=[case.pk]), {"verdict": "fraud", "note": "confirmed"}
    )

    assert response.status_code == 302
    assert LabelEvent.objects.get().source == "analyst"
    label = LabelEvent.objects.get()
    assert (label.transaction, label.label) == (case.decision.transaction, "fraud")


def test_a_reassignment_without_a_reason_is_refused_on_the_page(
    reviewing, lead, analyst, other_analyst
):
    case = factories.case_via_api(reviewing)
    browser(analyst).post(reverse("cases:claim", args=[case.pk]))

    response = browser(lead).post(
        reverse("cases:reassign", args=[case.pk]), {"to_user": other_analyst.pk, "reason": ""}
    )

    assert response.status_code == 400
    assert "reason" in response.context["reassign_form"].errors
    case.refresh_from_db()
    assert case.assignee == analyst


def test_an_analyst_cannot_use_lead_tools(reviewing, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    client = browser(analyst)

    reassign = client.post(
        reverse("cases:reassign", args=[case.pk]), {"to_user": other_analyst.pk, "reason": "x"}
    )
    export = client.get(reverse("cases:export", args=[case.queue_id]))

    assert (reassign.status_code, export.status_code) == (403, 403)
    case.refresh_from_db()
    assert (case.status, case.assignee) == (CaseStatus.OPEN, None)


def test_a_lead_exports_the_queue_as_csv(reviewing, lead):
    cases = [factories.case_via_api(reviewing, amount=a) for a in ("10.00", "900.00")]

    response = browser(lead).get(reverse("cases:export", args=[cases[0].queue_id]))

    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [int(r["case"]) for r in rows] == [cases[1].pk, cases[0].pk]  # by priority
    assert rows[1]["amount"] == "10.000"


def test_the_csv_export_neutralises_formulas_an_integrator_sent(reviewing, lead):
    formula = '=HYPERLINK("https://evil.example/","open")'
    case = factories.case_via_api(reviewing, customer_id=formula, transaction_id="@SUM(1,2)")

    response = browser(lead).get(reverse("cases:export", args=[case.queue_id]))

    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    (row,) = csv.DictReader(io.StringIO(body.decode()))
    assert (row["customer_id"], row["transaction_id"]) == ("'" + formula, "'@SUM(1,2)")


def test_a_row_that_left_the_queue_answers_204(reviewing, lead):
    case = factories.case_via_api(reviewing)
    client = browser(lead)
    assert client.get(reverse("cases:row", args=[case.pk])).status_code == 200

    client.post(reverse("cases:verdict", args=[case.pk]), {"verdict": "legit", "note": "ok"})

    assert client.get(reverse("cases:row", args=[case.pk])).status_code == 204


def test_a_lead_decides_several_cases_at_once(reviewing, lead):
    cases = [factories.case_via_api(reviewing) for _ in range(3)]

    response = browser(lead).post(
        reverse("cases:bulk-verdict"),
        {
            "cases": [c.pk for c in cases[:2]],
            "verdict": "legit",
            "note": "known merchant",
            "confirmed": "1",
        },
    )

    assert response.status_code == 302
    assert LabelEvent.objects.count() == 2
    cases[2].refresh_from_db()
    assert cases[2].status == CaseStatus.OPEN
    decided = Case.objects.filter(pk__in=[c.pk for c in cases[:2]])
    assert {(c.status, c.verdict) for c in decided} == {(CaseStatus.DECIDED, "legit")}


def test_the_holders_case_page_renews_the_lease_and_nobody_elses_can(
    reviewing, analyst, other_analyst
):
    case = factories.case_via_api(reviewing)
    browser(analyst).post(reverse("cases:claim", args=[case.pk]))
    Case.objects.filter(pk=case.pk).update(lease_expires_at=timezone.now() + timedelta(minutes=1))

    renewed = browser(analyst).post(reverse("cases:renew", args=[case.pk]))
    refused = browser(other_analyst).post(reverse("cases:renew", args=[case.pk]))

    case.refresh_from_db()
    assert (renewed.status_code, refused.status_code) == (204, 409)
    assert case.lease_expires_at - timezone.now() > timedelta(minutes=14)


def test_a_bulk_verdict_skips_a_case_decided_meanwhile(reviewing, lead):
    cases = [factories.case_via_api(reviewing) for _ in range(2)]
    browser(lead).post(reverse("cases:verdict", args=[cases[0].pk]), {"verdict": "legit"})

    response = browser(lead).post(
        reverse("cases:bulk-verdict"),
        {"cases": [c.pk for c in cases], "verdict": "fraud", "note": "ring", "confirmed": "1"},
    )

    assert response.status_code == 302
    assert LabelEvent.objects.filter(label="fraud").count() == 1


def test_the_case_page_charts_the_contributions_stored_with_the_decision(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    stored = [
        {"code": "rule.review_all", "text": "Review everything", "contribution": None},
        {"code": "model.novelty", "text": "A new device.", "contribution": 0.31},
        {"code": "model.amount", "text": "A large amount.", "contribution": 0.82},
    ]
    # A model that no longer exists here: the page must not need to ask it again.
    Decision.objects.filter(pk=case.decision_id).update(model_version="m-gone", reasons=stored)

    page = browser(analyst).get(reverse("cases:detail", args=[case.pk]))

    assert page.status_code == 200
    assert page.context["ev"].contributions == [("amount", 0.82), ("novelty", 0.31)]
    assert page.context["chart"] is not None
    assert page.context["ev"].notes == []
    assert "A large amount." in page.text


def test_the_case_page_says_when_no_model_scored_the_decision(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    Decision.objects.filter(pk=case.decision_id).update(model_version=None)

    page = browser(analyst).get(reverse("cases:detail", args=[case.pk]))

    assert page.context["ev"].contributions == []
    assert page.context["chart"] is None
    assert "No model scored this decision" in page.text


def test_the_case_page_shows_the_rules_that_fired_in_shadow_apart(reviewing, analyst):
    factories.rule("watching_big", "amount > 400", "decline", mode="shadow")
    small = factories.case_via_api(reviewing, amount="12.00")
    big = factories.case_via_api(reviewing, amount="480.00")

    small_page = browser(analyst).get(reverse("cases:detail", args=[small.pk]))
    big_page = browser(analyst).get(reverse("cases:detail", args=[big.pk]))

    assert "fired in shadow" not in small_page.text
    assert "Rules fired in shadow (they did not act)" in big_page.text
    assert "<code>watching_big</code> v1 (decline)" in big_page.text
    assert big.decision.outcome == "review"  # the shadow decline did not act
