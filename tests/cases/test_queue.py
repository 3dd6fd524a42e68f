"""The queue page: filters, search, sort and pages on the server; bad filters are form errors;
the bulk verdict has no default, asks to confirm and speaks in words; each role sees only
the navigation it can use, and a refused page says what to do."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import queue_reads
from cases.models import Case, CaseStatus, Queue
from cases.queue_reads import QueueFilters, queue_cases_filtered, queue_page_read
from scoring.models import LabelEvent
from tests import factories

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ids(cases) -> list[int]:
    return [case.pk for case in cases]


def filtered(user, **filters) -> list[int]:
    return ids(queue_cases_filtered(user=user, filters=QueueFilters(**filters)))


@pytest.fixture
def mixed(reviewing):
    """Five cases that differ in everything the queue filters by."""
    transfers = Queue.objects.create(name="Transfers", position=5, match_channel="transfer")
    factories.rule("big_amount", "amount >= 1000", "review", description="A large amount")
    small = factories.case_via_api(reviewing, amount="20.00", customer_id="c-small")
    large = factories.case_via_api(
        reviewing, amount="2500.00", customer_id="c-large", card_id="card-L", device_id="dev-L"
    )
    transfer = factories.case_via_api(
        reviewing, amount="300.00", channel="transfer", customer_id="c-transfer",
        ip="198.51.100.23", email="Mallory@Example.com",
    )  # fmt: skip
    huge = factories.case_via_api(reviewing, amount="12000.00", customer_id="c-huge")
    mid = factories.case_via_api(reviewing, amount="150.00", customer_id="c-mid")
    return {
        "small": small, "large": large, "transfer": transfer, "huge": huge, "mid": mid,
        "transfers": transfers,
    }  # fmt: skip


def test_the_queue_filters_by_queue_status_amount_band_rule_and_channel(mixed, analyst):
    c = mixed
    browser(analyst).post(reverse("cases:claim", args=[c["mid"].pk]))

    assert filtered(analyst, queue=c["transfers"]) == [c["transfer"].pk]
    assert filtered(analyst, status=CaseStatus.CLAIMED) == [c["mid"].pk]
    assert set(filtered(analyst, amount="100-1000")) == {c["transfer"].pk, c["mid"].pk}
    assert filtered(analyst, amount="under-100") == [c["small"].pk]
    assert filtered(analyst, amount="over-10000") == [c["huge"].pk]
    assert set(filtered(analyst, rule="big_amount")) == {c["large"].pk, c["huge"].pk}
    assert filtered(analyst, channel="transfer") == [c["transfer"].pk]
    assert filtered(analyst, rule="big_amount", amount="1000-10000") == [c["large"].pk]


def test_the_queue_finds_a_case_by_customer_card_device_ip_email_or_number(mixed, analyst):
    c = mixed

    assert filtered(analyst, search="c-large") == [c["large"].pk]
    assert filtered(analyst, search="card-L") == [c["large"].pk]
    assert filtered(analyst, search=" dev-L ") == [c["large"].pk]
    assert filtered(analyst, search="198.51.100.23") == [c["transfer"].pk]
    # the e-mail is stored only as a keyed hash: the query is normalised and hashed alike
    assert filtered(analyst, search="mallory@example.com") == [c["transfer"].pk]
    assert filtered(analyst, search=f"#{c['huge'].pk}") == [c["huge"].pk]
    assert filtered(analyst, search="nobody@example.com") == []


def test_the_queue_sorts_by_amount_score_age_and_urgency(mixed, analyst):
    c = mixed
    Case.objects.filter(pk=c["small"].pk).update(sla_due_at=timezone.now() - timedelta(minutes=5))

    by_amount = filtered(analyst, sort="amount-desc")
    assert by_amount == ids([c["huge"], c["large"], c["transfer"], c["mid"], c["small"]])
    assert filtered(analyst, sort="amount-asc") == by_amount[::-1]
    assert filtered(analyst, sort="oldest")[0] == c["small"].pk
    assert filtered(analyst, sort="newest")[0] == c["mid"].pk
    assert filtered(analyst, sort="sla")[0] == c["small"].pk
    urgent = list(queue_cases_filtered(user=analyst, filters=QueueFilters()))
    assert [case.priority for case in urgent] == sorted((x.priority for x in urgent), reverse=True)


def test_the_queue_is_paged_on_the_server(mixed, analyst, monkeypatch):
    monkeypatch.setattr(queue_reads, "PAGE_SIZE", 2)
    now = timezone.now()

    first = queue_page_read(user=analyst, filters=QueueFilters(sort="amount-desc"), now=now)
    last = queue_page_read(user=analyst, filters=QueueFilters(sort="amount-desc", page=3), now=now)
    beyond = queue_page_read(
        user=analyst, filters=QueueFilters(sort="amount-desc", page=9), now=now
    )

    assert first.total == 5
    assert [row.customer_id for row in first.rows] == ["c-huge", "c-large"]
    assert [row.customer_id for row in last.rows] == ["c-small"]
    assert beyond.page.number == 3  # a page past the last shows the last
    page = browser(analyst).get(reverse("cases:queue"), {"sort": "amount-desc", "page": "2"})
    assert page.status_code == 200
    assert page.text.count('<tr id="case-') == 2
    assert "page=3" in page.text
    assert "page=1" in page.text


def test_a_row_shows_reason_age_outcome_kind_score_as_a_percentage_and_sla_left(mixed, analyst):
    row = queue_page_read(
        user=analyst, filters=QueueFilters(search="c-large"), now=timezone.now()
    ).rows[0]

    assert row.reason in {"Review everything", "A large amount"}
    assert set(row.rules.split(", ")) == {"review_all", "big_amount"}
    assert row.outcome == "review"
    assert row.amount == "2,500.00 EUR"
    assert row.score.endswith("%") or row.score == "–"
    assert row.age == "0 min"
    assert row.sla.endswith("left")
    assert row.customer_id == "c-large"


def test_a_decline_to_confirm_reads_as_such_and_spans_read_as_people_say_them():
    assert queue_reads.span_text(timedelta(minutes=90)) == "90 min"
    assert queue_reads.span_text(timedelta(hours=5, minutes=3)) == "5 h 3 min"
    assert queue_reads.span_text(timedelta(days=3, hours=4)) == "3 d 4 h"
    assert queue_reads.sla_text(timedelta(minutes=-7)) == "7 min overdue"


def test_the_page_applies_filters_from_the_query_string(mixed, analyst):
    page = browser(analyst).get(reverse("cases:queue"), {"channel": "transfer"})

    assert page.status_code == 200
    assert f'id="case-{mixed["transfer"].pk}"' in page.text
    assert f'id="case-{mixed["small"].pk}"' not in page.text
    assert "1 case" in page.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "decided"}, "status"),
        ({"amount": "lots"}, "amount"),
        ({"rule": "no_such_rule"}, "rule"),
        ({"channel": "pigeon"}, "channel"),
        ({"sort": "-pk; drop table"}, "sort"),
        ({"page": "two"}, "page"),
        ({"page": "0"}, "page"),
        ({"queue": "999999"}, "queue"),
        ({"q": "x" * 300}, "q"),
    ],
)
def test_a_bad_filter_is_a_form_error_not_a_crash(mixed, analyst, params, field):
    page = browser(analyst).get(reverse("cases:queue"), params)

    assert page.status_code == 400
    assert field in page.context["form"].errors
    assert '<tr id="case-' not in page.text
    assert "Fix the filters above" in page.text


def test_the_live_row_answers_204_for_a_case_the_pages_filters_leave_out(mixed, analyst):
    client = browser(analyst)
    url = reverse("cases:row", args=[mixed["small"].pk])

    assert client.get(url, {"channel": "transfer"}).status_code == 204
    assert client.get(url, {"channel": "ecom"}).status_code == 200
    assert client.get(url, {"channel": "pigeon"}).status_code == 200  # bad filters: none


def test_a_bulk_verdict_has_no_default_verdict(reviewing, lead):
    factories.case_via_api(reviewing)
    page = browser(lead).get(reverse("cases:queue"))

    assert '<option value="" selected>choose a verdict…</option>' in page.text
    assert 'id="select-all"' in page.text


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"verdict": "fraud", "note": "ring"}, "Choose at least one case."),
        ({"cases": "CASE", "verdict": "", "note": "ring"}, "Choose a verdict: fraud, legit or"),
        ({"cases": "CASE", "verdict": "maybe", "note": "ring"}, "Choose a verdict: fraud, legit"),
        ({"cases": "CASE", "verdict": "legit", "note": ""}, "Write a note: it goes on the record"),
    ],
)
def test_a_refused_bulk_verdict_says_what_to_do_in_words(reviewing, lead, data, said):
    case = factories.case_via_api(reviewing)
    data = {k: (case.pk if v == "CASE" else v) for k, v in data.items()}

    page = browser(lead).post(reverse("cases:bulk-verdict"), data)

    assert page.status_code == 400
    assert said in page.text
    assert "This field is required" not in page.text
    assert "cases: " not in page.text
    assert not LabelEvent.objects.exists()


def test_a_bulk_verdict_asks_to_confirm_before_deciding_anything(reviewing, lead):
    cases = [factories.case_via_api(reviewing, amount="42.00") for _ in range(2)]
    client = browser(lead)
    data = {"cases": ids(cases), "verdict": "fraud", "note": "card testing ring"}

    asked = client.post(reverse("cases:bulk-verdict") + "?channel=ecom", data)

    assert asked.status_code == 200
    assert "Decide 2 cases as fraud?" in asked.text
    assert 'name="confirmed" value="1"' in asked.text
    assert "?channel=ecom" in asked.text  # back to the same filtered queue
    assert not LabelEvent.objects.exists()
    assert {c.status for c in Case.objects.all()} == {CaseStatus.OPEN}

    done = client.post(reverse("cases:bulk-verdict") + "?channel=ecom", {**data, "confirmed": "1"})

    assert done.status_code == 302
    assert done["Location"] == reverse("cases:queue") + "?channel=ecom"
    assert LabelEvent.objects.filter(label="fraud").count() == 2


def test_a_bulk_verdict_on_cases_all_decided_meanwhile_says_so(reviewing, lead):
    case = factories.case_via_api(reviewing)
    client = browser(lead)
    client.post(reverse("cases:verdict", args=[case.pk]), {"verdict": "legit"})

    page = client.post(
        reverse("cases:bulk-verdict"),
        {"cases": [case.pk], "verdict": "fraud", "note": "x", "confirmed": "1"},
    )

    assert page.status_code == 400
    assert "None of the chosen cases is still waiting for a verdict." in page.text


def test_a_lead_exports_the_filtered_cases_as_csv(mixed, lead, analyst):
    response = browser(lead).get(reverse("cases:export-filtered"), {"amount": "over-10000"})

    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert len(lines) == 2
    assert "c-huge" in lines[1]
    assert browser(analyst).get(reverse("cases:export-filtered")).status_code == 403


def test_an_analyst_sees_no_navigation_to_pages_that_would_refuse_them(reviewing, analyst):
    page = browser(analyst).get(reverse("cases:queue"))

    assert 'id="nav-cases"' in page.text
    for refused in ("nav-kpis", "nav-admin", "nav-metrics", "nav-models", "nav-live"):
        assert f'id="{refused}"' not in page.text
    home = browser(analyst).get("/")
    assert "/admin/rules/rule/" not in home.text
    assert "/decisions/live" not in home.text


def test_a_manager_sees_the_kpis_and_models_but_no_case_queue(db):
    manager = factories.user("mia", "manager")

    page = browser(manager).get(reverse("kpis"))

    assert 'id="nav-kpis"' in page.text
    assert 'id="nav-models"' in page.text
    assert 'id="nav-cases"' not in page.text


def test_a_refused_page_says_what_was_tried_who_grants_it_and_links_home(reviewing, analyst):
    page = browser(analyst).get(reverse("kpis"))

    assert page.status_code == 403
    assert "<code>/kpis/</code>" in page.text
    assert "You need the manager role." in page.text
    assert "<strong>analyst</strong>" in page.text  # the role this account has
    assert "Roles are given by an admin" in page.text
    assert 'id="forbidden-home"' in page.text


def test_the_queue_page_reads_in_as_many_queries_for_many_cases_as_for_few(reviewing, analyst):
    client = browser(analyst)
    factories.case_via_api(reviewing)
    client.get(reverse("cases:queue"))  # the session and permissions warmed

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("cases:queue"), {"amount": "under-100"}).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(6):
        factories.case_via_api(reviewing)
    assert queries() == few <= 10


def test_a_column_header_sorts_by_it_and_clicked_again_the_other_way(mixed, analyst):
    client = browser(analyst)

    first = client.get(reverse("cases:queue"), {"channel": "ecom"})
    again = client.get(reverse("cases:queue"), {"channel": "ecom", "sort": "amount-desc"})

    assert 'href="?channel=ecom&amp;sort=amount-desc" id="sort-amount"' in first.text
    assert 'aria-sort="descending"><a href="?channel=ecom&amp;sort=amount-asc"' in again.text
    rows = again.context["rows"]
    assert [row.customer_id for row in rows] == ["c-huge", "c-large", "c-mid", "c-small"]
