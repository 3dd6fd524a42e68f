"""A decision's rows inserted in one statement (scoring/decision_insert.py)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from scoring.decision_insert import decision_rows_insert
from scoring.models import Decision, Integrator, Transaction
from scoring.records import ThresholdsRecord
from tests import factories


def _rows(integrator: Integrator, transaction_id: str) -> tuple[Transaction, Decision]:
    txn = Transaction(
        integrator=integrator,
        transaction_id=transaction_id,
        occurred_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        utc_offset_minutes=60,
        amount=Decimal("12.345"),
        currency="EUR",
        customer_id="cust-1",
        merchant_id="merch-1",
        channel="ecom",
        ip="203.0.113.7",
        metadata={"order": "A-1", "nested": {"x": [1, 2]}},
        request_hash="h" * 64,
    )
    decision = Decision(
        id=uuid.uuid4(),
        transaction=txn,
        outcome="review",
        score=0.71,
        reasons=[{"code": "rule.r", "text": "Rule r", "contribution": None}],
        features={"amount": 12.345, "ip_txn_count_1h": None},
        thresholds=ThresholdsRecord(review=0.6, decline=0.9),
        policy_revision=3,
        model_version="m-1",
        latency_ms=1.5,
        timings_ms={"features": 0.4},
    )
    return txn, decision


def _stored(decision: Decision) -> tuple[dict, dict]:
    again = Decision.objects.select_related("transaction").get(pk=decision.pk)
    skip = ("id", "received_at", "created_at", "transaction")
    return (
        {k: v for k, v in model_to_dict(again.transaction).items() if k not in skip},
        {k: v for k, v in model_to_dict(again).items() if k not in skip},
    )


@pytest.mark.django_db
def test_the_rows_read_back_exactly_as_the_orm_stores_them():
    integrator = factories.integrator().api_key.integrator
    inserted_txn, inserted = _rows(integrator, "t-inserted")
    saved_txn, saved = _rows(integrator, "t-saved")

    with transaction.atomic():
        decision_rows_insert(inserted_txn, inserted)
    saved_txn.save()
    saved.transaction = saved_txn
    saved.save()

    (txn_a, decision_a), (txn_b, decision_b) = _stored(inserted), _stored(saved)
    assert txn_a == {**txn_b, "transaction_id": "t-inserted"}
    assert decision_a == decision_b
    assert inserted_txn.pk == Decision.objects.get(pk=inserted.pk).transaction_id
    assert not inserted._state.adding
    assert not inserted_txn._state.adding
    assert inserted_txn.received_at is not None
    assert inserted.created_at is not None


@pytest.mark.django_db
def test_a_second_transaction_with_the_same_id_is_refused_and_leaves_no_row():
    integrator = factories.integrator().api_key.integrator
    with transaction.atomic():
        decision_rows_insert(*_rows(integrator, "t-1"))

    with pytest.raises(IntegrityError), transaction.atomic():
        decision_rows_insert(*_rows(integrator, "t-1"))

    assert Transaction.objects.count() == 1
    assert Decision.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL")
@pytest.mark.django_db
def test_on_postgresql_both_rows_are_one_statement():
    integrator = factories.integrator().api_key.integrator
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        decision_rows_insert(*_rows(integrator, "t-1"))

    inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == 1
    assert Decision.objects.get().transaction.transaction_id == "t-1"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side binding on PostgreSQL")
@pytest.mark.django_db
def test_on_postgresql_the_insert_becomes_a_prepared_statement_of_its_connection():
    integrator = factories.integrator().api_key.integrator

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["WITH t AS (INSERT INTO %"],
            )
            return int(cursor.fetchone()[0])

    for i in range(6):  # psycopg prepares a statement on its fifth run on a connection
        with transaction.atomic():
            decision_rows_insert(*_rows(integrator, f"t-{i}"))

    assert prepared() == 1
    assert Decision.objects.count() == 6
