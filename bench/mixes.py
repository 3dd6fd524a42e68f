"""The payments the decision benchmark sends, serialised as HTTP requests.

- ``payload``: a small population of its own (60 customers), the floors'.
- ``RealisticMix``: the known customers of the bench's simulated history, on their cards and
  devices, at their merchants, for about their usual amounts, with the history's share of
  fraud: few are challenged (reviewed or declined), about 1-3% by design. How many are
  depends on the model each run trains and on how often a customer comes back within the
  run (``bench.prepare.HISTORY_CUSTOMERS``): 0-1.7% in the runs of 2026-12-04.
- ``StressMix``: every payment a new customer on a new card and device, from a new address:
  cold features; ``STRESS_RISKY`` (40%) of them big payments at the history's cash-out
  merchants, which the policy's ``new_device_big_amount`` rule reviews (or the model declines):
  about 40% challenged, each explained (SHAP) in the request, as a review or decline is.

The bench prints the challenged share each mix actually saw.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from bench.measure import HOST
from bench.prepare import HISTORY_CUSTOMERS, HISTORY_SEED
from scoring.simulation.population import Population
from scoring.simulation.traffic import SimulatedTransaction, TrafficSimulator

# A payload for a transaction id, drawn with the given generator.
PayloadMaker = Callable[[random.Random, str], dict[str, Any]]

MERCHANTS: list[tuple[str, str]] = [
    ("merch-grocer", "5411"),
    ("merch-fuel", "5541"),
    ("merch-airline", "4511"),
    ("merch-electronics", "5732"),
    ("merch-fashion", "5651"),
    ("merch-games", "5816"),
    ("merch-hotel", "7011"),
    ("merch-pharmacy", "5912"),
    ("merch-taxi", "4121"),
    ("merch-marketplace", "5399"),
]
COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "GB", "PL", "SE"]
CHANNELS = ["ecom", "ecom", "ecom", "pos", "pos", "wallet", "atm"]
N_CUSTOMERS = 60
N_CARDS = 90  # some customers have two cards


def payload(rng: random.Random, transaction_id: str) -> dict[str, Any]:
    """A realistic decision request over a small population, so features have history."""
    card = rng.randrange(N_CARDS)
    customer = card % N_CUSTOMERS
    merchant, mcc = rng.choice(MERCHANTS)
    home = COUNTRIES[customer % len(COUNTRIES)]
    device = f"dev-{customer}" if rng.random() < 0.9 else f"dev-{customer}-{rng.randrange(5)}"
    amount = min(max(rng.lognormvariate(3.4, 1.1), 0.5), 15000.0)
    return {
        "transaction_id": transaction_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "amount": f"{amount:.2f}",
        "currency": "EUR",
        "customer_id": f"cust-{customer}",
        "merchant_id": merchant,
        "merchant_category": mcc,
        "channel": rng.choice(CHANNELS),
        "card_id": f"card-tok-{card}",
        "country": home if rng.random() < 0.95 else rng.choice(COUNTRIES),
        "ip": f"198.51.100.{customer + 1}",
        "device_id": device,
        "email": f"customer{customer}@example.com",
        "metadata": {"order_ref": transaction_id[-8:], "basket_items": rng.randint(1, 6)},
    }


class RealisticMix:
    """Live traffic of the history's population (``TrafficSimulator``, the real fraud share)."""

    def __init__(self, run: str = "bench") -> None:
        simulator = TrafficSimulator(
            seed=HISTORY_SEED, customers=HISTORY_CUSTOMERS, run=run, fraud_boost=1.0
        )
        self._stream: Iterator[SimulatedTransaction] = simulator.stream(
            datetime.now(UTC), rate=100.0
        )

    def __call__(self, rng: random.Random, transaction_id: str) -> dict[str, Any]:
        txn = next(self._stream)
        txn.stamp(datetime.now(UTC))  # now, whatever the simulated clock says
        return {**txn.payload, "transaction_id": transaction_id}


STRESS_RISKY = 0.4
# Above the policy's new_device_big_amount threshold (2000), as an account takeover pays.
RISKY_AMOUNTS = (2100.0, 9000.0)


class StressMix:
    """New customers, cards, devices and addresses at the history's merchants; ``STRESS_RISKY``
    of them big payments at its cash-out merchants."""

    def __init__(self) -> None:
        population = Population.of_seed(HISTORY_SEED, customers=0)
        self._everyday = [(m, population.category[m]) for m in population.everyday]
        self._cash_out = [(m, population.category[m]) for m in population.cash_out]

    def __call__(self, rng: random.Random, transaction_id: str) -> dict[str, Any]:
        if rng.random() < STRESS_RISKY:
            merchant, mcc = rng.choice(self._cash_out)
            amount = rng.uniform(*RISKY_AMOUNTS)
        else:
            merchant, mcc = rng.choice(self._everyday)
            amount = min(max(rng.lognormvariate(3.4, 0.7), 0.5), 1500.0)
        new = f"new-{transaction_id}"
        return {
            "transaction_id": transaction_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "amount": f"{amount:.2f}",
            "currency": "EUR",
            "customer_id": new,
            "merchant_id": merchant,
            "merchant_category": mcc,
            "channel": rng.choice(CHANNELS),
            "card_id": f"card-{new}",
            "country": rng.choice(COUNTRIES),
            "ip": f"203.0.{rng.randrange(114, 200)}.{rng.randrange(1, 255)}",
            "device_id": f"dev-{new}",
            "email": f"{new}@example.org",
        }


def requests_build(
    *,
    path: str,
    key: str,
    port: int,
    tag: str,
    count: int,
    rng: random.Random,
    make: PayloadMaker = payload,
) -> list[bytes]:
    """Serialised requests, each with a unique transaction id (built before the clock runs)."""
    out = []
    for i in range(count):
        body = json.dumps(make(rng, f"{tag}-{i:06d}"), separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Token {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out
