"""A decision answered 201 is committed, with its transaction and its case, before the
response leaves: another connection sees the rows the moment the status line is sent.

The probe reads on a psycopg connection of its own (not Django's, which would see its own
uncommitted writes) from inside ``start_response``, which the WSGI server calls before it
writes a byte of the response.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import RequestFactory
from psycopg import sql

from cases.models import Case
from scoring.models import Decision, Transaction
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]

Rows = dict[str, int]


def _probe(transaction_id: str) -> Rows:
    """How many transaction, decision and case rows for ``transaction_id`` a separate
    connection sees (committed rows only)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    txn, decision, case = (sql.Identifier(m._meta.db_table) for m in (Transaction, Decision, Case))
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM {txn} t WHERE t.transaction_id = %(id)s),"
        " (SELECT count(*) FROM {decision} d JOIN {txn} t ON t.id = d.transaction_id"
        "  WHERE t.transaction_id = %(id)s),"
        " (SELECT count(*) FROM {case} c JOIN {decision} d ON d.id = c.decision_id"
        "  JOIN {txn} t ON t.id = d.transaction_id WHERE t.transaction_id = %(id)s)"
    ).format(txn=txn, decision=decision, case=case)
    with psycopg.connect(**params, autocommit=True) as probe:
        row = probe.execute(query, {"id": transaction_id}).fetchone()
    assert row is not None
    return dict(zip(("transaction", "decision", "case"), row, strict=True))


def _post_probing(key: str, body: dict[str, Any]) -> tuple[str, Rows, dict[str, Any]]:
    """POST the decision through Django's WSGI application; the status line, what the probe
    saw when the status line was sent, and the response body."""
    environ = (
        RequestFactory(SERVER_NAME="localhost")
        .post(
            "/api/v1/decisions",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {key}",
        )
        .environ
    )
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"] = status
        seen["rows"] = _probe(body["transaction_id"])
        return lambda data: None

    result = WSGIHandler()(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()
    return seen["status"], seen["rows"], json.loads(content)


@contextmanager
def _connection_kept_open() -> Iterator[None]:
    """As Django's test client does: the start and end of a request do not close the
    connection (which would abandon an enclosing atomic block)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def reviewed() -> Callable[[], dict[str, Any]]:
    factories.review_everything()
    return lambda: factories.payload(customer_id="cust-commit")


def test_a_201_review_is_in_the_database_with_its_transaction_and_case_when_sent(reviewed):
    issued = factories.integrator("acme")
    body = reviewed()

    status, rows, answer = _post_probing(issued.key, body)

    assert status.startswith("201")
    assert answer["outcome"] == "review"
    assert rows == {"transaction": 1, "decision": 1, "case": 1}


def test_a_201_approval_is_in_the_database_with_its_transaction_when_sent():
    issued = factories.integrator("acme")
    body = factories.payload()

    status, rows, answer = _post_probing(issued.key, body)

    assert status.startswith("201")
    assert answer["outcome"] == "approve"
    assert rows == {"transaction": 1, "decision": 1, "case": 0}


def test_the_probe_sees_nothing_of_a_decision_not_yet_committed(reviewed):
    # The control: were the API's writes left in an open transaction at the status line,
    # the probe would say so. Here an enclosing atomic block holds them back.
    issued = factories.integrator("acme")
    body = reviewed()

    with _connection_kept_open(), transaction.atomic():
        status, rows, _ = _post_probing(issued.key, body)
        inside = Decision.objects.filter(transaction__transaction_id=body["transaction_id"])
        assert inside.count() == 1  # written, on Django's connection only
        transaction.set_rollback(True)

    assert status.startswith("201")
    assert rows == {"transaction": 0, "decision": 0, "case": 0}
