"""Builders of test data: small functions with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from rules import services as rule_services
from rules.models import Rule
from scoring.features.definitions import Features, compute_features
from scoring.features.event import Event
from scoring.features.store import FeatureStore
from scoring.integrators import IssuedKey, integrator_create
from scoring.transaction import TransactionFacts

_seq = itertools.count(1)


def integrator(name: str | None = None) -> IssuedKey:
    return integrator_create(name=name or f"integrator-{next(_seq)}")


def midnight_utc(days_ago: int) -> datetime:
    """Midnight UTC, ``days_ago`` days back. The simulators depend on the time of day, never
    on the date, so history started here is the same (translated in time) on any day a test
    runs: what a test asserts of it holds by construction, not by the calendar."""
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


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


def event(ref: str, ts: float, amount: float = 10.0, **fields: Any) -> Event:
    """What the feature store sees of a transaction (customer c1 at merchant m1 with card k1)."""
    values: dict[str, Any] = {"customer_id": "c1", "merchant_id": "m1", "card_id": "k1"}
    values.update(fields)
    return Event(ref=ref, ts=ts, amount=amount, **values)


def observed_features(store: FeatureStore, e: Event) -> Features:
    """The features of ``e`` as a decision computes them; the store records it."""
    return compute_features(e, store.observe(e, scope="s"))


def rule(name: str, expression: str, action: str = "decline", **fields: Any) -> Rule:
    return rule_services.rule_save(
        rule=Rule(name=name, expression=expression, action=action, **fields)
    )


def seconds_later(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


# --- people and cases --------------------------------------------------------------------


def user(username: str, role: str | None = None, password: str = "pw-" + "x" * 8) -> Any:
    """A user with one of the roles (analyst, lead, manager, admin), or none (an outsider)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    person = get_user_model().objects.create_user(username, password=password)
    if role is not None:
        person.groups.add(Group.objects.get(name=role))
    return person


def review_everything() -> Rule:
    """A rule that sends every transaction to review: each decision opens a case."""
    return rule("review_all", "amount >= 0", "review", description="Review everything")


def case_via_api(api: Any, **overrides: Any) -> Any:
    """Post a transaction that is reviewed (call review_everything() first); its case."""
    from cases.models import Case

    response = api.post("/api/v1/decisions", payload(**overrides), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "review"
    return Case.objects.get(decision_id=response.json()["decision_id"])
