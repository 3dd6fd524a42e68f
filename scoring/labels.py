"""Labels: what became of a decided transaction (chargebacks, integrators' reports, analysts'
verdicts), appended, never edited. The training labels of the model loop.

Its own module so that the workbench (cases) records verdicts without importing the decision
service, which itself opens cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.errors import TransactionNotFound
from scoring.models import Integrator, LabelEvent, Transaction


@dataclass(frozen=True)
class LabelAdded:
    label: LabelEvent
    replayed: bool  # the same label was already recorded (a retry): nothing was added


def label_create(
    *,
    integrator: Integrator,
    transaction_id: str,
    label: str,
    source: str,
    reported_at: datetime | None = None,
) -> LabelAdded:
    """Append a label to one of the integrator's transactions, once.

    A retry with the same ``reported_at`` finds the first one. Without ``reported_at`` the
    time of receipt is used, so only a client that sends it can retry safely.
    """
    txn = Transaction.objects.filter(integrator=integrator, transaction_id=transaction_id).first()
    if txn is None:
        raise TransactionNotFound(transaction_id)
    reported_at = reported_at or timezone.now()
    try:
        with transaction.atomic():
            added = label_add(transaction=txn, label=label, source=source, reported_at=reported_at)
    except IntegrityError:
        first = LabelEvent.objects.get(
            transaction=txn, label=label, source=source, reported_at=reported_at
        )
        return LabelAdded(first, replayed=True)
    return LabelAdded(added, replayed=False)


def label_add(
    *, transaction: Transaction, label: str, source: str, reported_at: datetime | None = None
) -> LabelEvent:
    """Append a label (an analyst's verdict, a chargeback) to a stored transaction."""
    return LabelEvent.objects.create(
        transaction=transaction,
        label=label,
        source=source,
        reported_at=reported_at or timezone.now(),
    )
