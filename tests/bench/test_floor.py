"""The lean floor of bench/decisions.py: eight fields validated, two rows in one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIRequestFactory

from bench.floor import FloorLeanApi
from bench.lean_sql import LEAN_TABLES

PAYMENT = {
    "transaction_id": "lean-1",
    "occurred_at": "2026-11-24T10:00:00+00:00",
    "amount": "12.50",
    "currency": "EUR",
    "customer_id": "c-00001",
    "merchant_id": "m-0001",
    "channel": "ecom",
    "country": "DE",
    "device_id": "ignored: not one of the eight fields",
}


@pytest.fixture
def lean_tables(postgres: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(LEAN_TABLES)


def _post(body: dict[str, Any]) -> Any:
    request = APIRequestFactory().post("/bench/floor/lean", body, format="json")
    return FloorLeanApi.as_view()(request)


def _rows() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_lean_payment")
        payments = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM bench_lean_decision")
        return payments, cursor.fetchone()[0]


@pytest.mark.django_db
def test_it_stores_a_payment_and_its_decision_without_authentication(lean_tables: None) -> None:
    response = _post(PAYMENT)

    assert response.status_code == 201
    assert response.data["transaction_id"] == "lean-1"
    assert _rows() == (1, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT amount, country FROM bench_lean_payment")
        amount, country = cursor.fetchone()
    assert (str(amount), country) == ("12.5000", "DE")


@pytest.mark.django_db
def test_it_refuses_bad_input_naming_the_field_and_writes_nothing(lean_tables: None) -> None:
    response = _post({**PAYMENT, "amount": "lots"})

    assert response.status_code == 400
    assert set(response.data["fields"]) == {"amount"}
    assert _rows() == (0, 0)


def test_the_floor_endpoints_are_not_in_the_production_urls() -> None:
    with pytest.raises(NoReverseMatch):
        reverse("bench-floor-lean")
