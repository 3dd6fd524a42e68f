"""The transaction's conversions that need the Django model: facts → a ``Transaction`` row, and
stored rows back to facts. The shape and the pure conversions are :mod:`scoring.transaction`.

A fact the request left out is None in the facts and '' in its column, or NULL where the column
cannot hold '' (the IP address): which, the model says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Field, QuerySet

from scoring.models import Integrator, Transaction
from scoring.transaction import (
    FACT_NAMES,
    OPTIONAL_FACTS,
    ROW_COLUMNS,
    DecisionRequest,
    StoredTransaction,
    TransactionFacts,
    offset_minutes,
    stored_from_row,
)


def _stored_blank(name: str) -> bool:
    column = Transaction._meta.get_field(name)
    return isinstance(column, Field) and not column.null


# The optional facts whose column stores an absent value as '' (the others: NULL).
_BLANK_WHEN_ABSENT = frozenset(name for name in OPTIONAL_FACTS if _stored_blank(name))


def transaction_row(
    integrator: Integrator, request: DecisionRequest, fingerprint: str
) -> Transaction:
    """The (unsaved) row that stores a decided transaction."""
    facts = request.facts
    values: dict[str, Any] = {name: getattr(facts, name) for name in FACT_NAMES}
    for name in _BLANK_WHEN_ABSENT:
        values[name] = values[name] or ""
    return Transaction(
        integrator=integrator,
        utc_offset_minutes=offset_minutes(facts.occurred_at),
        metadata=request.metadata,
        request_hash=fingerprint,
        **values,
    )


def facts_from_transaction(txn: Transaction) -> TransactionFacts:
    """The pipeline's view of a stored transaction (the inverse of :func:`transaction_row`)."""
    return stored_from_row([getattr(txn, column) for column in ROW_COLUMNS]).facts


def stored_transactions(queryset: QuerySet[Transaction]) -> Iterator[StoredTransaction]:
    """The transactions of ``queryset``, in its order, read as tuples (no model instances:
    store warm-up reads every row before the server answers)."""
    rows = queryset.values_list(*ROW_COLUMNS).iterator(chunk_size=5000)
    return map(stored_from_row, rows)
