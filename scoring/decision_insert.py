"""A decision's two rows inserted in one statement, without the ORM's save machinery.

``Model.save()`` for the transaction and then the decision cost more CPU than the rest of an
approval's storing (signals, the SQL compiler, one round trip each) and made two round trips
to PostgreSQL. Here the values are the model fields' own (``pre_save`` and
``get_db_prep_save``, exactly what ``save()`` would send) and the statement is built once per
process: on PostgreSQL one INSERT of the transaction in a CTE feeding the decision's INSERT;
elsewhere (the embedded SQLite) two INSERTs. The instances are then as ``save()`` leaves them:
the transaction has its id, both are marked as stored. A unique-constraint violation (a retry)
raises ``IntegrityError`` as ``save()`` would.

On PostgreSQL the statement goes through a psycopg cursor with server-side binding, on
Django's connection and in its transaction: the ~40 values travel beside the statement instead
of being quoted into it in Python (Django's default client-side binding: the largest share of
the insert's CPU), and once a connection has run it ``prepare_threshold`` times (psycopg's 5)
it is a prepared statement there, which PostgreSQL no longer parses and plans.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import psycopg
from django.db import connection
from django.db.models import Field, Model

from scoring.models import Decision, Transaction


def _columns(model: type[Model], *, skip: tuple[str, ...]) -> list[Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if f.name not in skip and isinstance(f, Field)]


@cache
def _transaction_columns() -> list[Field[Any, Any]]:
    return _columns(Transaction, skip=("id",))


@cache
def _decision_columns() -> list[Field[Any, Any]]:
    return _columns(Decision, skip=("transaction",))


def _names(fields: list[Field[Any, Any]]) -> str:
    return ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


@cache
def _statements(vendor: str) -> tuple[str, ...]:
    # Every name is the models' own (quoted); values are parameters.
    txn_cols, decision_cols = _transaction_columns(), _decision_columns()
    txn_table = connection.ops.quote_name(Transaction._meta.db_table)
    decision_table = connection.ops.quote_name(Decision._meta.db_table)
    link = connection.ops.quote_name(Decision._meta.get_field("transaction").column)
    insert_txn = (
        f"INSERT INTO {txn_table} ({_names(txn_cols)}) "  # noqa: S608
        f"VALUES ({_placeholders(len(txn_cols))})"
    )
    if vendor == "postgresql":
        return (
            f"WITH t AS ({insert_txn} RETURNING id) "  # noqa: S608
            f"INSERT INTO {decision_table} ({_names(decision_cols)}, {link}) "
            f"VALUES ({_placeholders(len(decision_cols))}, (SELECT id FROM t)) "
            f"RETURNING {link}",
        )
    return (
        insert_txn,
        f"INSERT INTO {decision_table} ({_names(decision_cols)}, {link}) "  # noqa: S608
        f"VALUES ({_placeholders(len(decision_cols) + 1)})",
    )


def _values(obj: Model, fields: list[Field[Any, Any]]) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def decision_rows_insert(txn: Transaction, decision: Decision) -> None:
    """Insert an unsaved transaction and its unsaved decision; call it inside a transaction
    (``atomic``), as the two rows stand or fall together."""
    txn_values = _values(txn, _transaction_columns())
    decision_values = _values(decision, _decision_columns())
    statements = _statements(connection.vendor)
    if len(statements) == 1:
        txn.pk = _inserted_bound(statements[0], [*txn_values, *decision_values])
    else:
        with connection.cursor() as cursor:
            cursor.execute(statements[0], txn_values)
            txn.pk = cursor.lastrowid
            cursor.execute(statements[1], [*decision_values, txn.pk])
    decision.transaction = txn
    for obj in (txn, decision):
        obj._state.adding = False
        obj._state.db = connection.alias


def _inserted_bound(statement: str, values: list[Any]) -> Any:
    """Run the PostgreSQL statement with server-side binding; the id it returns. The cursor
    is wrapped as ``connection.cursor()`` wraps Django's own: its errors are Django's, and
    query logging and execute wrappers see it."""
    connection.ensure_connection()
    connection.validate_thread_sharing()
    bound: Any = psycopg.Cursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(bound) as cursor:
        cursor.execute(statement, values)
        row = cursor.fetchone()
    assert row is not None
    return row[0]
