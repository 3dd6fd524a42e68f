"""Builders of test data: small functions with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from rules import services as rule_services
from rules.models import Rule
from scoring.pipeline import TransactionFacts
from scoring.services import IssuedKey, integrator_create

_seq = itertools.count(1)


def integrator(name: str | None = None) -> IssuedKey:
    return integrator_create(name=name or f"integrator-{next(_seq)}")


def payload(**overrides: Any) -> dict[str, Any]:
    """A valid decision request body."""
    body: dict[str, Any] = {
        "transaction_id": f"txn-{next(_seq)}",
        "occurred_at": timezone.now().isoformat(),
        "amount": "25.00",
        "currency": "EUR",
        "customer_id": "cust-1",
        "merchant_id": "merch-1",
        "channel": "ecom",
        "card_id": "card-tok-1",
        "country": "DE",
        "ip": "203.0.113.7",
        "device_id": "dev-1",
        "email": "alice@example.com",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def facts(**overrides: Any) -> TransactionFacts:
    values: dict[str, Any] = {
        "transaction_id": f"txn-{next(_seq)}",
        "occurred_at": datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        "amount": Decimal("25.00"),
        "currency": "EUR",
        "customer_id": "cust-1",
        "merchant_id": "merch-1",
        "channel": "ecom",
        "card_id": "card-1",
    }
    values.update(overrides)
    return TransactionFacts(**values)


def rule(name: str, expression: str, action: str = "decline", **fields: Any) -> Rule:
    return rule_services.rule_save(
        rule=Rule(name=name, expression=expression, action=action, **fields)
    )


def seconds_later(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)
