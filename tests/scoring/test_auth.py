"""API keys: failed authentications are throttled per client address, bad keys are cached.

Each test sends from an address of its own: the failure counters live in the cache, which on
Redis outlives a test.
"""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from scoring import integrators
from scoring.auth import key_generate
from tests import factories

pytestmark = pytest.mark.django_db

DECISIONS = "/api/v1/decisions"


@pytest.fixture
def address() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def client_from(address: str, key: str) -> APIClient:
    client = APIClient(SERVER_NAME="localhost", REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_repeated_wrong_keys_from_one_address_answer_429_with_retry_after(settings, address):
    settings.API_KEY_FAILURE_LIMIT = 5

    statuses = [
        client_from(address, key_generate()).post(DECISIONS, {}, format="json").status_code
        for _ in range(5)
    ]
    throttled = client_from(address, key_generate()).post(DECISIONS, {}, format="json")

    assert statuses == [401] * 5
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == str(settings.API_KEY_FAILURE_WINDOW_SECONDS)
    assert throttled.json()["code"] == "throttled"


def test_a_throttled_address_costs_the_database_nothing(settings, address):
    settings.API_KEY_FAILURE_LIMIT = 2
    for _ in range(2):
        client_from(address, key_generate()).post(DECISIONS, {}, format="json")

    with CaptureQueriesContext(connection) as queries:
        statuses = [
            client_from(address, key_generate()).post(DECISIONS, {}, format="json").status_code
            for _ in range(20)
        ]

    assert len(queries) == 0
    assert statuses == [429] * 20


def test_another_address_is_not_throttled_by_ones_failures(settings, address):
    settings.API_KEY_FAILURE_LIMIT = 2
    for _ in range(3):
        client_from(address, key_generate()).post(DECISIONS, {}, format="json")

    other = client_from("198.51.100.7" if ":" in address else "2001:db8::7", key_generate())

    assert other.post(DECISIONS, {}, format="json").status_code == 401
    assert (
        client_from(address, key_generate()).post(DECISIONS, {}, format="json").status_code == 429
    )


def test_a_valid_cached_key_still_decides_from_a_throttled_address(settings, address, issued):
    settings.API_KEY_FAILURE_LIMIT = 2
    good = client_from(address, issued.key)
    assert good.post(DECISIONS, factories.payload(), format="json").status_code == 201
    for _ in range(3):
        client_from(address, key_generate()).post(DECISIONS, {}, format="json")

    response = good.post(DECISIONS, factories.payload(transaction_id="t-2"), format="json")

    assert response.status_code == 201


def test_a_flood_of_one_bad_key_reaches_the_database_once(address):
    bad = client_from(address, key_generate())

    with CaptureQueriesContext(connection) as queries:
        statuses = {bad.post(DECISIONS, {}, format="json").status_code for _ in range(10)}

    assert statuses == {401}
    assert len(queries) == 1


def test_a_newly_issued_key_is_not_refused_by_an_earlier_failed_try(monkeypatch, address):
    key = key_generate()
    assert client_from(address, key).post(DECISIONS, {}, format="json").status_code == 401
    monkeypatch.setattr(integrators, "key_generate", lambda: key)

    integrators.integrator_create(name="late")
    response = client_from(address, key).post(DECISIONS, factories.payload(), format="json")

    assert response.status_code == 201
