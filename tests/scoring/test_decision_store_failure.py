"""A decision the database does not store leaves no count in the feature store."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError, IntegrityError

from scoring import serving
from scoring.decisions import DecisionCreated, decision_create
from scoring.features.store import FeatureStoreUnavailable
from scoring.models import Transaction
from scoring.transaction import DecisionRequest
from scoring.transaction_rows import transaction_row
from tests import factories

pytestmark = pytest.mark.django_db


def decide(issued, transaction_id: str, **facts) -> DecisionCreated:
    request = DecisionRequest(factories.facts(transaction_id=transaction_id, **facts))
    return decision_create(integrator=issued.api_key.integrator, request=request)


def orphan_transaction(issued, transaction_id: str) -> None:
    """A stored transaction without a decision: inserting it again is refused, and no stored
    decision answers for it (not an idempotent replay)."""
    request = DecisionRequest(factories.facts(transaction_id=transaction_id))
    transaction_row(issued.api_key.integrator, request, "0" * 64).save()


def card_count(issued, transaction_id: str) -> Any:
    created = decide(issued, transaction_id, occurred_at=factories.facts().occurred_at)
    return created.decision.features["card_txn_count_1m"]


def test_a_decision_the_database_refuses_to_store_leaves_no_count(issued):
    decide(issued, "t-1")
    orphan_transaction(issued, "t-2")

    with pytest.raises(IntegrityError):
        decide(issued, "t-2", amount=Decimal("900.00"))

    assert card_count(issued, "t-3") == 1  # t-1 only
    assert Transaction.objects.filter(decision__isnull=False).count() == 2


def test_an_amount_postgresql_refuses_leaves_no_count(issued, postgres):
    decide(issued, "t-1")

    with pytest.raises(DataError):
        decide(issued, "t-2", amount=Decimal("1e16"))  # numeric(18, 3) holds less than 1e15

    assert card_count(issued, "t-3") == 1


def test_a_retry_answered_from_the_database_stays_counted(issued):
    decide(issued, "t-1")

    assert decide(issued, "t-1").replayed
    assert card_count(issued, "t-2") == 1


class ForgetFails:
    """The store in force, except that forget finds Redis gone."""

    def __init__(self, store) -> None:
        self._store = store

    def observe(self, event, *, scope):
        return self._store.observe(event, scope=scope)

    def forget(self, event, *, scope):
        raise FeatureStoreUnavailable("connection refused")


def test_a_forget_that_fails_is_logged_and_the_storing_error_is_raised(issued, serve_with, caplog):
    serve_with(store=ForgetFails(serving.feature_store()))
    orphan_transaction(issued, "t-1")

    with pytest.raises(IntegrityError):
        decide(issued, "t-1")

    assert "did not forget" in caplog.text
