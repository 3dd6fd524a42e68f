"""A hand-built world of customers who share devices, IP addresses, cards and e-mails, 60 days
back from the day the tests run (so every label is known as of now, and the KPI dashboard's
last 365 days hold them, by construction, on any date), for the entity profile and network
tests.

    alice ──device d-shared── bob ──ip 203.0.113.9── carol ──card k-carol── dave
      └────e-mail erin@──── erin

From alice's case: bob and erin are one hop away, carol two, dave three (left out).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from cases.models import Case
from cases.opening import case_open_for_decision
from scoring.models import Decision, Integrator, LabelEvent, Transaction
from scoring.pii import email_hash
from tests.factories import midnight_utc

DAY = midnight_utc(60) + timedelta(hours=10)
_seq = itertools.count(1)


def txn(
    customer: str,
    *,
    at: datetime,
    amount: str = "10.00",
    currency: str = "EUR",
    outcome: str = "approve",
    label: str | None = None,
    with_case: bool = False,
    integrator: Integrator | None = None,
    **columns: Any,
) -> Transaction:
    """A stored transaction and its decision; ``label`` reported (fraud by a chargeback, legit
    by an analyst) a day later; a case opened for it if ``with_case``."""
    if integrator is None:
        integrator, _ = Integrator.objects.get_or_create(name="acme")
    row = Transaction.objects.create(
        integrator=integrator, transaction_id=f"txn-entity-{next(_seq)}", occurred_at=at,
        amount=Decimal(amount), currency=currency, customer_id=customer,
        merchant_id=columns.pop("merchant_id", "m1"), channel="ecom", request_hash="0" * 64,
        **columns,
    )  # fmt: skip
    decision = Decision.objects.create(
        transaction=row, outcome=outcome, score=0.42, policy_revision=1, latency_ms=3.0
    )
    if label is not None:
        LabelEvent.objects.create(
            transaction=row, label=label, source="chargeback" if label == "fraud" else "analyst",
            reported_at=at + timedelta(days=1),
        )  # fmt: skip
    if with_case:
        case_open_for_decision(decision=decision)
    return row


def shared_world() -> Case:
    """The world above; alice's case (her reviewed, fraud-labelled payment)."""
    erin_mail = email_hash("erin@example.com")
    txn("c-alice", at=DAY, amount="100.00", card_id="k-a", device_id="d-shared",
        ip="198.51.100.1", email_hash=erin_mail)  # fmt: skip
    case_txn = txn("c-alice", at=DAY + timedelta(days=1), amount="50.00", outcome="review",
        label="fraud", with_case=True, card_id="k-a", device_id="d-a", ip="198.51.100.1",
        merchant_id="m2")  # fmt: skip
    txn("c-alice", at=DAY + timedelta(days=2), amount="20.00", currency="USD",
        outcome="decline", label="legit", card_id="k-a2", device_id="d-shared")  # fmt: skip
    txn("c-bob", at=DAY + timedelta(hours=5), device_id="d-shared", ip="203.0.113.9",
        card_id="k-b", label="fraud")  # fmt: skip
    txn("c-bob", at=DAY + timedelta(hours=6), card_id="k-b")
    txn("c-erin", at=DAY + timedelta(hours=7), email_hash=erin_mail, device_id="d-erin")
    txn("c-carol", at=DAY + timedelta(hours=8), ip="203.0.113.9", card_id="k-carol",
        outcome="decline")  # fmt: skip
    txn("c-dave", at=DAY + timedelta(hours=9), card_id="k-carol", device_id="d-dave")
    return Case.objects.get(decision__transaction=case_txn)
