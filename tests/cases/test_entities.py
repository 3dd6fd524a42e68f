"""Entity profiles and a case's network: the selectors' figures are the hand counts of a
hand-built world (tests/cases/entity_seed.py); the pages answer only those who work cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from cases.entities import TIMELINE_PAGE, AmountTotal, entity_profile
from cases.models import Queue
from cases.network import case_network
from scoring.models import Integrator
from scoring.pii import email_hash
from tests import factories
from tests.cases.entity_seed import DAY, shared_world, txn

pytestmark = pytest.mark.django_db


def test_a_customers_profile_counts_what_the_fixture_holds(analyst):
    shared_world()

    profile = entity_profile(
        kind="customer", value="c-alice", user=analyst, page=1, now=timezone.now()
    )

    a = profile.aggregates
    assert a.transactions == 3
    assert a.amounts == [
        AmountTotal("EUR", 2, Decimal("150.000")),
        AmountTotal("USD", 1, Decimal("20.000")),
    ]
    assert a.fraud_labelled == 1
    assert (a.first_seen, a.last_seen) == (DAY, DAY + timedelta(days=2))
    assert a.outcomes == {"approve": 1, "review": 1, "decline": 1}
    # newest first; labels as of now: reported ones, and legit once matured (scoring.label_reads)
    assert [(r.outcome, r.label) for r in profile.rows] == [
        ("decline", "legit"), ("review", "fraud"), ("approve", "legit"),
    ]  # fmt: skip
    assert [r.case_id is not None for r in profile.rows] == [False, True, False]
    assert {r.channel for r in profile.rows} == {"online"}  # in words, not "ecom"
    assert [c.pk for c in profile.cases] == [profile.rows[1].case_id]
    linked = {
        kind: [(x.value, x.transactions) for x in values] for kind, values in profile.linked.items()
    }
    assert linked == {
        "card": [("k-a", 2), ("k-a2", 1)],
        "device": [("d-shared", 2), ("d-a", 1)],
        "ip": [("198.51.100.1", 2)],
        "email": [(email_hash("erin@example.com"), 1)],
        "merchant": [("m1", 2), ("m2", 1)],
    }


def test_a_shared_devices_profile_lists_the_customers_seen_with_it(analyst):
    shared_world()

    profile = entity_profile(
        kind="device", value="d-shared", user=analyst, page=1, now=timezone.now()
    )

    assert profile.aggregates.transactions == 3
    assert profile.aggregates.fraud_labelled == 1  # bob's
    assert [(x.value, x.transactions) for x in profile.linked["customer"]] == [
        ("c-alice", 2),
        ("c-bob", 1),
    ]
    assert "device" not in profile.linked


def test_a_profile_costs_the_same_few_queries_however_many_transactions(
    analyst, django_assert_max_num_queries
):
    for i in range(TIMELINE_PAGE + 2):
        txn("c-many", at=DAY + timedelta(minutes=i), label="fraud" if i % 3 == 0 else None)
    now = timezone.now()

    with django_assert_max_num_queries(16):
        profile = entity_profile(kind="customer", value="c-many", user=analyst, page=2, now=now)

    assert len(profile.rows) == 2  # 27 transactions, 25 a page
    assert profile.aggregates.fraud_labelled == 9
    assert [r.label for r in profile.rows] == ["legit", "fraud"]  # the two oldest: i = 1, 0
    last = entity_profile(kind="customer", value="c-many", user=analyst, page="99", now=now)
    assert last.timeline.number == 2


def test_a_case_outside_the_users_queues_is_not_linked_from_a_profile(analyst, other_analyst):
    case = shared_world()
    queue = Queue.objects.create(name="vip", position=1)
    queue.analysts.add(other_analyst)
    case.queue = queue
    case.save()

    profile = entity_profile(
        kind="customer", value="c-alice", user=analyst, page=1, now=timezone.now()
    )

    assert profile.cases == []
    assert all(r.case_id is None for r in profile.rows)


def test_the_network_holds_the_customers_two_hops_away_through_shared_values():
    case = shared_world()

    graph = case_network(case=case, now=timezone.now())

    customers = {
        n["value"]: (n["hop"], n["group"], n["fraud_labelled"])
        for n in graph["nodes"]
        if n["kind"] == "customer"
    }
    assert customers == {
        "c-alice": (0, "fraud", 1),
        "c-bob": (1, "fraud", 1),
        "c-erin": (1, "approve", 0),
        "c-carol": (2, "decline", 0),
    }  # dave shares a card with carol: three hops, left out
    mail = email_hash("erin@example.com")
    shared = {n["id"] for n in graph["nodes"] if n["kind"] != "customer"}
    assert shared == {"device:d-shared", f"email:{mail}", "ip:203.0.113.9"}
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert edges == {
        ("customer:c-alice", "device:d-shared"), ("customer:c-bob", "device:d-shared"),
        ("customer:c-alice", f"email:{mail}"), ("customer:c-erin", f"email:{mail}"),
        ("customer:c-bob", "ip:203.0.113.9"), ("customer:c-carol", "ip:203.0.113.9"),
    }  # fmt: skip
    assert graph["center"] == "customer:c-alice"
    assert graph["capped"] is False
    bob = next(n for n in graph["nodes"] if n["id"] == "customer:c-bob")
    assert bob["url"] == "/entities/customer/c-bob"
    assert bob["outcomes"] == {"approve": 2}
    assert bob["transactions"] == 2


def test_the_network_stays_within_the_cases_integrator():
    case = shared_world()
    other = Integrator.objects.create(name="globex")
    txn("c-mallory", at=DAY, device_id="d-shared", integrator=other)

    graph = case_network(case=case, now=timezone.now())

    assert "customer:c-mallory" not in {n["id"] for n in graph["nodes"]}


def test_the_network_is_capped(settings, monkeypatch):
    monkeypatch.setattr("cases.network.MAX_CUSTOMERS", 3)
    case = shared_world()

    graph = case_network(case=case, now=timezone.now())

    assert len([n for n in graph["nodes"] if n["kind"] == "customer"]) == 3
    assert graph["capped"] is True


def test_the_network_json_is_served_to_an_analyst(client, analyst):
    case = shared_world()
    client.force_login(analyst)

    response = client.get(f"/cases/{case.pk}/network.json")

    assert response.status_code == 200
    assert {n["id"] for n in response.json()["nodes"]} >= {"customer:c-carol", "ip:203.0.113.9"}


def test_the_network_of_a_case_in_another_queue_is_not_found(client, analyst, other_analyst):
    case = shared_world()
    queue = Queue.objects.create(name="vip", position=1)
    queue.analysts.add(other_analyst)
    case.queue = queue
    case.save()
    client.force_login(analyst)

    assert client.get(f"/cases/{case.pk}/network.json").status_code == 404
    assert client.get(f"/cases/{case.pk}/network").status_code == 404


def test_an_entity_page_renders_its_figures_and_links(client, analyst):
    case = shared_world()
    client.force_login(analyst)

    page = client.get("/entities/customer/c-alice").content.decode()

    assert '<strong id="agg-transactions">3</strong>' in page
    assert 'href="/entities/device/d-shared"' in page
    assert f'href="/cases/{case.pk}/"' in page
    assert f'href="/cases/{case.pk}/network"' in page


@pytest.mark.parametrize("role", ["manager", None])
def test_an_entity_page_is_refused_to_those_who_do_not_work_cases(client, role):
    client.force_login(factories.user("mia", role))

    assert client.get("/entities/customer/c-alice").status_code == 403
    assert client.get("/cases/1/network.json").status_code == 403


def test_an_entity_page_asks_a_login_first(client):
    response = client.get("/entities/customer/c-alice")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_malformed_ip_address_is_a_400_naming_the_value(client, analyst):
    client.force_login(analyst)

    response = client.get("/entities/ip/not-an-ip")

    assert response.status_code == 400
    assert response.content.decode().startswith("value:")


def test_an_unknown_kind_of_entity_is_not_found(client, analyst):
    client.force_login(analyst)

    assert client.get("/entities/planet/mars").status_code == 404


def test_entity_link_prints_a_link_and_a_dash_for_nothing():
    template = Template(
        "{% load entity_links %}"
        '{{ a|entity_link:"ip" }} {{ b|entity_link:"card" }} {{ c|entity_link:"email" }}'
    )

    text = template.render(Context({"a": "2001:db8::1", "b": "", "c": "ab" * 32}))

    assert text.startswith('<a class="entity" href="/entities/ip/2001:db8::1"')
    assert " – " in text
    assert ">abababababab…</a>" in text


def test_the_network_costs_a_bounded_number_of_queries(django_assert_max_num_queries):
    case = shared_world()
    case = type(case).objects.select_related("decision__transaction").get(pk=case.pk)

    with django_assert_max_num_queries(9):  # two per hop, five for the customers' tally
        graph = case_network(case=case, now=timezone.now())

    assert len(graph["nodes"]) == 7
