"""What the feature store needs to know about one transaction (pure, no Django).

Its own module so that the hot definitions and the cold ones both take it without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Parties:
    """Who and where a payment involves: the ids feature state is kept by.

    Declared once: the pipeline's :class:`~scoring.transaction.TransactionFacts` and the
    store's :class:`Event` both are parties with more.
    """

    customer_id: str
    merchant_id: str
    card_id: str | None = None
    device_id: str | None = None
    ip: str | None = None
    country: str | None = None
    payee_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Event(Parties):
    """What the feature store needs to know about one transaction."""

    ref: str  # unique per transaction (integrator + transaction id): makes retries harmless
    ts: float  # occurred_at, seconds since the epoch
    amount: float
    # Local time of day in the offset the integrator sent (hours, 0 ≤ h < 24).
    local_hour: float | None = None
    channel: str | None = None
    # The request's hash: the same ref with another fingerprint is a different request reusing
    # an id, refused (RefConflict) before anything is read or counted.
    fingerprint: str = ""

    def entity_values(self) -> dict[str, str | None]:
        return {
            "card": self.card_id,
            "customer": self.customer_id,
            "merchant": self.merchant_id,
            "device": self.device_id,
            "ip": self.ip,
        }
