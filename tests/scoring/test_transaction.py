"""One shape, one set of conversions: a transaction stored and read back is the transaction
that was decided, and what the store sees of it is the same either way."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scoring.models import Transaction
from scoring.transaction import ROW_COLUMNS, DecisionRequest, local_hour, stored_from_row
from scoring.transaction_rows import facts_from_transaction, stored_transactions, transaction_row
from tests import factories

AT_PLUS_0530 = datetime(2026, 11, 24, 23, 45, tzinfo=timezone(timedelta(hours=5, minutes=30)))


def test_the_local_hour_is_the_time_of_day_in_the_offset_sent():
    assert local_hour(AT_PLUS_0530) == 23.75
    assert local_hour(AT_PLUS_0530.astimezone(UTC)) == 18.25


def test_a_row_tuple_reads_back_the_facts_it_stored_absent_values_as_none():
    facts = factories.facts(occurred_at=AT_PLUS_0530, card_id=None, ip="203.0.113.7")
    utc = AT_PLUS_0530.astimezone(UTC)
    columns = {"integrator_id": "7", "request_hash": "f" * 64, "utc_offset_minutes": 330,
               "transaction_id": facts.transaction_id, "occurred_at": utc, "amount": facts.amount,
               "currency": "EUR", "customer_id": "cust-1", "merchant_id": "merch-1",
               "channel": "ecom", "ip": "203.0.113.7"}  # fmt: skip
    row = tuple(columns.get(name, "") for name in ROW_COLUMNS)

    stored = stored_from_row(row)

    assert (stored.scope, stored.fingerprint, stored.facts) == ("7", "f" * 64, facts)
    assert stored.facts.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert stored.event() == facts.event(facts.transaction_id, "f" * 64)


@pytest.mark.django_db
def test_a_stored_transaction_reads_back_as_the_facts_that_were_decided():
    integrator = factories.integrator().api_key.integrator
    facts = factories.facts(occurred_at=AT_PLUS_0530, ip=None, payee_id="payee-1")
    transaction_row(integrator, DecisionRequest(facts), "f" * 64).save()

    (stored,) = stored_transactions(Transaction.objects.all())

    assert facts_from_transaction(Transaction.objects.get()) == facts
    assert (stored.scope, stored.facts, stored.fingerprint) == (str(integrator.pk), facts, "f" * 64)
