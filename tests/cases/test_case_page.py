"""The case page built around deciding: features grouped in words, the verdict panel only
for whoever may decide, errors beside their field, "decide and next", and a SHAP walk that
ends on the decision's score (issue 15)."""

import json
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from cases.forms import VerdictForm
from cases.models import Case, CaseComment, CaseStatus
from scoring.models import LabelEvent
from scoring.waterfall import sigmoid
from tests import factories
from tests.scoring.test_model import scorer_for

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_case_page_shows_features_grouped_with_labels_and_units(reviewing, analyst):
    for amount in ("12.00", "14.00"):
        factories.case_via_api(reviewing, amount=amount, customer_id="c-9")
    case = factories.case_via_api(reviewing, amount="480.00", customer_id="c-9", channel="wallet")

    page = browser(analyst).get(reverse("cases:detail", args=[case.pk]))

    assert page.status_code == 200
    view = page.context["ev"].feature_view
    groups = {g.group: g for g in view.standing_out}
    amount = next(line for line in groups["transaction"].lines if line.label == "Amount")
    assert (amount.value, amount.usual) == ("480.00 EUR", "13.00 EUR")
    channel = next(line for g in view.standing_out for line in g.lines if line.label == "Channel")
    assert (channel.value, channel.usual) == ("mobile wallet", "online")  # words, not codes
    html = page.text
    assert "<caption>Transaction</caption>" in html
    assert (
        '<th scope="row" title="The payment&#x27;s amount, in its own currency.">Amount</th>'
        in html
    )
    assert "its last 2 decisions" in html
    assert "<dt>Channel</dt><dd>mobile wallet</dd>" in html  # the summary, in words too
    assert "channel_pos" not in html.split('id="features"')[1]  # no raw one-hot features
    assert "median of last 0" not in html


def _payment(**columns: str | None) -> SimpleNamespace:
    return SimpleNamespace(
        **{"card_id": "k-1", "device_id": "d-1", "ip": "203.0.113.9", "email_hash": "h"} | columns
    )


def test_the_block_boxes_name_what_they_block_in_words():
    form = VerdictForm(transaction=_payment())
    choices = dict(form.fields["block"].choices)  # type: ignore[attr-defined]

    assert list(choices.values()) == [
        "block the card", "block the device", "block the IP address", "block the e-mail address",
    ]  # fmt: skip


def test_the_block_boxes_offer_only_what_the_payment_has_and_refuse_a_forged_one():
    no_device = _payment(device_id="", ip=None)

    offered = dict(VerdictForm(transaction=no_device).fields["block"].choices)  # type: ignore[attr-defined]
    forged = VerdictForm({"verdict": "fraud", "block": ["device"]}, transaction=no_device)

    assert list(offered) == ["card", "email"]
    assert not forged.is_valid()
    assert "block" in forged.errors


def test_a_first_payment_reads_no_history_yet(reviewing, analyst):
    case = factories.case_via_api(reviewing, customer_id="c-new")

    page = browser(analyst).get(reverse("cases:detail", args=[case.pk]))

    assert "no history yet" in page.text
    assert "median of last 0" not in page.text


def test_decide_and_next_gives_the_verdict_and_opens_the_next_case(reviewing, analyst):
    first = factories.case_via_api(reviewing, amount="900.00")
    second = factories.case_via_api(reviewing, amount="20.00")
    client = browser(analyst)
    claimed = client.post(reverse("cases:next"))
    assert claimed["Location"] == reverse("cases:detail", args=[first.pk])

    response = client.post(
        reverse("cases:verdict", args=[first.pk]), {"verdict": "legit", "next": "1"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.verdict) == (CaseStatus.DECIDED, "legit")
    assert (second.status, second.assignee) == (CaseStatus.CLAIMED, analyst)


def test_decide_and_next_with_no_case_left_goes_back_to_the_queue(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    client = browser(analyst)
    client.post(reverse("cases:claim", args=[case.pk]))

    response = client.post(
        reverse("cases:verdict", args=[case.pk]), {"verdict": "fraud", "next": "1"}
    )

    assert response["Location"] == reverse("cases:queue")


def test_a_verdict_without_a_choice_is_refused_beside_the_field(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    client = browser(analyst)
    client.post(reverse("cases:claim", args=[case.pk]))
    page = client.get(reverse("cases:detail", args=[case.pk]))
    assert '<option value="" selected>– choose –</option>' in page.text  # no default verdict

    response = client.post(reverse("cases:verdict", args=[case.pk]), {"verdict": "", "next": "1"})

    assert response.status_code == 400
    panel = response.text.split('id="decide-panel"')[1]
    assert 'id="id_verdict_error"' in panel
    assert "This field is required." in panel
    case.refresh_from_db()
    assert case.status == CaseStatus.CLAIMED
    assert not LabelEvent.objects.exists()


def test_a_colleague_sees_who_holds_the_case_and_can_ask_a_lead(reviewing, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    browser(analyst).post(reverse("cases:claim", args=[case.pk]))
    client = browser(other_analyst)

    page = client.get(reverse("cases:detail", args=[case.pk]))

    assert 'id="verdict-form"' not in page.text
    assert "Held by <strong>alice</strong>" in page.text
    assert 'id="ask-lead"' in page.text
    asked = client.post(
        reverse("cases:comment", args=[case.pk]),
        {"text": "bob asks a lead to look at this case (held by alice)."},
    )
    assert asked.status_code == 302
    assert CaseComment.objects.get(case=case).author == other_analyst


def test_an_open_case_offers_a_claim_not_a_verdict(reviewing, analyst):
    case = factories.case_via_api(reviewing)

    page = browser(analyst).get(reverse("cases:detail", args=[case.pk]))

    assert 'id="claim-form"' in page.text
    assert 'id="verdict-form"' not in page.text


def test_a_lead_may_decide_a_case_someone_else_holds(reviewing, analyst, lead):
    case = factories.case_via_api(reviewing)
    browser(analyst).post(reverse("cases:claim", args=[case.pk]))

    page = browser(lead).get(reverse("cases:detail", args=[case.pk]))

    assert 'id="verdict-form"' in page.text


def test_the_shap_walk_goes_from_the_base_rate_to_the_decisions_score(
    reviewing, analyst, trained_model, serve_with
):
    serve_with(scorer=scorer_for(trained_model))
    case = factories.case_via_api(reviewing, amount="640.00")
    score = Case.objects.get(pk=case.pk).decision.score
    assert score is not None

    page = browser(analyst).get(reverse("cases:detail", args=[case.pk]))

    walk = page.context["walk"]
    assert walk is not None
    assert sigmoid(walk.final) == pytest.approx(score, abs=1e-9)
    figure = json.loads(page.context["chart"])
    bars = figure["data"][0]
    assert bars["y"][-1] == "This decision's score"
    # the last bar runs from the base rate to the score; every step starts where one ended
    assert bars["base"][-1] + bars["x"][-1] == pytest.approx(walk.final)
    for i in range(len(bars["x"]) - 2):
        assert bars["base"][i] + bars["x"][i] == pytest.approx(bars["base"][i + 1])
    assert bars["base"][-2] + bars["x"][-2] == pytest.approx(walk.final)
    assert "_" not in "".join(bars["y"])  # human labels, no snake_case
    assert "log-odds" in figure["layout"]["xaxis"]["title"]["text"]
    assert "How the model got to this score" in page.text
