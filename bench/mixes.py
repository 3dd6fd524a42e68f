"""The payments the decision benchmark sends, serialised as HTTP requests."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from bench.measure import HOST

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


def payload(rng: random.Random, transaction_id: str) -> dict[str, object]:
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


def requests_build(
    *, path: str, key: str, port: int, tag: str, count: int, rng: random.Random
) -> list[bytes]:
    """Serialised requests, each with a unique transaction id (built before the clock runs)."""
    out = []
    for i in range(count):
        body = json.dumps(payload(rng, f"{tag}-{i:06d}"), separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Token {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out
