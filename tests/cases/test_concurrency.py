"""Claiming under contention, on the real PostgreSQL: SKIP LOCKED gives each caller its own."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cases import services
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]


def test_twenty_concurrent_next_case_calls_claim_twenty_different_cases():
    issued = factories.integrator("acme")
    factories.review_everything()
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    for i in range(25):
        body = factories.payload(amount=f"{10 + i}.00")
        assert client.post("/api/v1/decisions", body, format="json").status_code == 201
    analysts = [factories.user(f"analyst-{i}", "analyst") for i in range(20)]
    barrier = threading.Barrier(20)

    def next_case(user):
        barrier.wait()
        try:
            return services.case_claim_next(user=user)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        claimed = list(pool.map(next_case, analysts))

    assert all(case is not None for case in claimed)
    assert len({case.pk for case in claimed}) == 20
    assert {case.assignee_id for case in claimed} == {a.pk for a in analysts}
