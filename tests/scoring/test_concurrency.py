"""Concurrent duplicates against the real PostgreSQL and Redis: one decision, counted once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from scoring.models import Decision, Transaction
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]


def _post_together(key: str, bodies: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))

    def post(body: dict):
        client = APIClient(SERVER_NAME="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        barrier.wait()
        try:
            return client.post("/api/v1/decisions", body, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_fifty_concurrent_identical_posts_make_exactly_one_decision():
    issued = factories.integrator("acme")
    body = factories.payload(card_id="card-c")

    responses = _post_together(issued.key, [body] * 50)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201]
    assert len({r.json()["decision_id"] for r in responses}) == 1
    assert (Transaction.objects.count(), Decision.objects.count()) == (1, 1)
    assert all(
        r.headers.get("Idempotent-Replayed") == "true" for r in responses if r.status_code == 200
    )


def test_concurrent_duplicates_are_counted_once_in_velocity_features():
    issued = factories.integrator("acme")
    _post_together(issued.key, [factories.payload(card_id="card-v", transaction_id="dup")] * 20)

    (after,) = _post_together(issued.key, [factories.payload(card_id="card-v")])

    decision = Decision.objects.get(pk=after.json()["decision_id"])
    assert decision.features["card_txn_count_1m"] == 1.0
