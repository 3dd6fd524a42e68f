"""Simulated payment traffic with a few fraud patterns (pure, deterministic for a seed).

Customers have a card, a device, a home country and a typical amount. Most traffic is their
ordinary spending; mixed in are the patterns a fraud team sees every week:

- card testing: a stolen card tried for tiny amounts many times within a minute;
- compromised merchant: a burst of different cards at one merchant;
- stolen card: a customer's card used for a high amount from a new device in another country.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "GB", "PL", "SE"]
FAR_COUNTRIES = ["NG", "BR", "VN", "ID", "RU"]
MERCHANT_CATEGORIES = ["5411", "5812", "5999", "4121", "5732", "7995"]


@dataclass(frozen=True)
class Customer:
    id: str
    card_id: str
    device_id: str
    country: str
    ip: str
    email: str
    typical_amount: float


@dataclass(frozen=True)
class SimulatedTransaction:
    pattern: str  # "normal" | "card_testing" | "compromised_merchant" | "stolen_card"
    payload: dict[str, Any]


class TrafficSimulator:
    def __init__(self, *, seed: int = 7, customers: int = 500, merchants: int = 250) -> None:
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._run = f"{seed}-{self._rng.randrange(16**6):06x}"
        self.customers = [self._customer(i) for i in range(customers)]
        self.merchants = [f"m-{i:03d}" for i in range(merchants)]
        # Everyday spending spreads over the first 80% of merchants; small merchants (the
        # rest) see little traffic, which is what makes a compromised one stand out.
        self._busy = self.merchants[: merchants * 4 // 5]
        self._small = self.merchants[merchants * 4 // 5 :]
        self._pending: list[SimulatedTransaction] = []

    def _customer(self, i: int) -> Customer:
        rng = self._rng
        return Customer(
            id=f"c-{i:05d}",
            card_id=f"card-{i:05d}",
            device_id=f"dev-{i:05d}",
            country=rng.choice(COUNTRIES),
            ip=f"198.51.{i // 250}.{i % 250 + 1}",
            email=f"customer{i}@example.com",
            typical_amount=round(rng.lognormvariate(3.3, 0.6), 2),
        )

    def stream(self, start: datetime, *, rate: float) -> Iterator[SimulatedTransaction]:
        """An endless stream, about ``rate`` transactions per second of simulated time."""
        now = start
        while True:
            if not self._pending:
                self._pending = self._next_batch()
            txn = self._pending.pop(0)
            now += timedelta(seconds=self._rng.expovariate(rate))
            txn.payload["occurred_at"] = now.isoformat()
            yield txn

    def _next_batch(self) -> list[SimulatedTransaction]:
        roll = self._rng.random()
        if roll < 0.01:
            return self._card_testing()
        if roll < 0.015:
            return self._compromised_merchant()
        if roll < 0.03:
            return [self._stolen_card()]
        return [self._normal()]

    def _payload(self, customer: Customer, **overrides: Any) -> dict[str, Any]:
        rng = self._rng
        amount = max(1.0, rng.gauss(customer.typical_amount, customer.typical_amount / 3))
        body: dict[str, Any] = {
            "transaction_id": f"sim-{self._run}-{next(self._ids)}",
            "amount": f"{amount:.2f}",
            "currency": "EUR",
            "customer_id": customer.id,
            "merchant_id": rng.choice(self._busy),
            "merchant_category": rng.choice(MERCHANT_CATEGORIES),
            "channel": rng.choice(["ecom", "ecom", "pos", "wallet"]),
            "card_id": customer.card_id,
            "country": customer.country,
            "ip": customer.ip,
            "device_id": customer.device_id,
            "email": customer.email,
        }
        body.update(overrides)
        return body

    def _normal(self) -> SimulatedTransaction:
        return SimulatedTransaction("normal", self._payload(self._rng.choice(self.customers)))

    def _card_testing(self) -> list[SimulatedTransaction]:
        victim = self._rng.choice(self.customers)
        bot_device = f"bot-{self._rng.randrange(10**6)}"
        return [
            SimulatedTransaction(
                "card_testing",
                self._payload(
                    victim,
                    amount=f"{self._rng.uniform(0.5, 2.0):.2f}",
                    merchant_id=self._rng.choice(self.merchants),
                    channel="ecom",
                    device_id=bot_device,
                    ip=f"192.0.2.{self._rng.randrange(60, 70)}",
                ),
            )
            for _ in range(self._rng.randint(6, 10))
        ]

    def _compromised_merchant(self) -> list[SimulatedTransaction]:
        merchant = self._rng.choice(self._small)
        return [
            SimulatedTransaction(
                "compromised_merchant", self._payload(customer, merchant_id=merchant, channel="pos")
            )
            for customer in self._rng.sample(self.customers, 25)
        ]

    def _stolen_card(self) -> SimulatedTransaction:
        victim = self._rng.choice(self.customers)
        return SimulatedTransaction(
            "stolen_card",
            self._payload(
                victim,
                amount=f"{victim.typical_amount * self._rng.uniform(15, 40):.2f}",
                device_id=f"dev-new-{self._rng.randrange(10**6)}",
                country=self._rng.choice(FAR_COUNTRIES),
                ip=f"203.0.113.{self._rng.randrange(1, 255)}",
                channel="ecom",
            ),
        )
