"""The feature definitions: one place, pure Python, no Django.

A feature store (Redis in production, in-process in the demo and in training replays) keeps
per-entity state. For each transaction it returns a :class:`Snapshot` of that state *before*
the transaction and then records the transaction, in one atomic step. :func:`compute_features`
turns an :class:`Event` and its snapshot into named feature values. Serving and training call
the same function, so the model is trained on exactly what it sees in production.

A feature whose input is absent (no device sent, first transaction of a customer) is ``None``:
a missing value, never a made-up 0.

Feature set 2 (:data:`FEATURE_SET_VERSION`) adds, hot or cold by what it costs:

- a customer's count and spend over 1, 7 and 30 days and the amount against each window's
  mean payment (``amount_to_customer_mean_{24h,7d,30d}``; ``None`` for an empty window): the
  last 24 hours are hot (the velocity series the store already keeps, trimmed after 25 h), the 7
  and 30 days are cold, ending at the generation's ``as_of`` (at most one refresh period old).
  Keeping 30 days per event in Redis zsets would cost ~80 bytes a member for each of the five
  entities: ~36 KB for a customer paying three times a day, against ~3 KB for 25 hours; the cold
  entry grows by four numbers (~40 bytes).
- a merchant's fraud rate over 1, 7 and 30 days (cold: payments that occurred in the window,
  fraud as reported before ``as_of``), smoothed toward the integrator's own rate in the window
  (a Beta prior of ``cold.FRAUD_RATE_PRIOR_PAYMENTS`` = 20 pseudo-payments), and its lift over
  that rate (``None`` while the integrator has no known fraud in the window); ~60 bytes more
  per merchant entry.
- the seconds since the card, the customer and the device were first seen (hot: one small hash
  per entity, ~100 bytes, kept ``store.FIRST_SEEN_TTL_MS`` = 180 days after the entity's latest
  event, so an entity silent for longer is new again). Never seen before this event: 0 (a real
  value: first seen now); no such entity, or the store did not answer: ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from scoring.features.cold import (
    MERCHANT_RATE_WINDOWS,
    ColdValues,
    hours_apart,
)
from scoring.features.event import Event

# The velocity windows, in seconds.
WINDOWS: Mapping[str, int] = {"1m": 60, "1h": 3600, "24h": 86400}
LONGEST_WINDOW = max(WINDOWS.values())
# Entities that get count and amount-sum velocity features in every window.
VELOCITY_ENTITIES: tuple[str, ...] = ("card", "customer", "merchant", "device", "ip")
# Entities whose first appearance the store keeps (``<entity>_seconds_since_first``).
FIRST_SEEN_ENTITIES: tuple[str, ...] = ("card", "customer", "device")

FeatureValue = float | None
Features = dict[str, FeatureValue]


@dataclass(frozen=True)
class WindowStats:
    count: int
    amount_sum: float


@dataclass(frozen=True)
class RunningStats:
    """Welford's running mean and sum of squared deviations of a customer's amounts."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def std(self) -> float | None:
        if self.n < 2:
            return None
        return math.sqrt(self.m2 / (self.n - 1))

    def add(self, x: float) -> RunningStats:
        n = self.n + 1
        delta = x - self.mean
        mean = self.mean + delta / n
        return RunningStats(n, mean, self.m2 + delta * (x - mean))

    def remove(self, x: float) -> RunningStats:
        """The stats without one ``x`` that was added (Welford's update in reverse)."""
        if self.n <= 1:
            return RunningStats()
        n = self.n - 1
        mean = (self.n * self.mean - x) / n
        return RunningStats(n, mean, max(0.0, self.m2 - (x - mean) * (x - self.mean)))


@dataclass(frozen=True)
class Snapshot:
    """State of every entity of an event just before it (history strictly before)."""

    # velocity[entity][window] for each entity the event has a value for
    velocity: Mapping[str, Mapping[str, WindowStats]] = field(default_factory=dict)
    card_distinct_merchants_24h: int | None = None
    card_distinct_countries_24h: int | None = None
    customer_last_ts: float | None = None
    customer_amounts: RunningStats = RunningStats()
    # None when the event has no device; True when this customer used the device before
    device_known_for_customer: bool | None = None
    country_known_for_customer: bool | None = None
    device_distinct_cards_1h: int | None = None
    # Distinct payers of the payee in 24 h, and how many of them paid it for the first time.
    payee_distinct_payers_24h: int | None = None
    payee_new_payers_24h: int | None = None
    # The cold (batch) values of the event's entities; None when no generation was published.
    cold: ColdValues | None = None
    # For each FIRST_SEEN_ENTITIES the event has and the store answered for: when the entity
    # was first seen (None: never before this event). An entity missing here: not known.
    first_seen: Mapping[str, float | None] = field(default_factory=dict)
    # True when the store had already seen this event (a retry): nothing was recorded twice
    replayed: bool = False


def _velocity_names() -> list[str]:
    names = []
    for entity in VELOCITY_ENTITIES:
        for window in WINDOWS:
            names += [f"{entity}_txn_count_{window}", f"{entity}_amount_sum_{window}"]
    return names


# From the cold generation (``cold.py``): long-window habits and reputations.
COLD_FEATURE_NAMES: tuple[str, ...] = (
    "customer_txn_count_7d",
    "customer_amount_sum_7d",
    "amount_to_customer_mean_7d",
    "customer_txn_count_30d",
    "customer_amount_sum_30d",
    "customer_amount_mean_30d",
    "amount_to_customer_mean_30d",
    "customer_amount_mean_90d",
    "customer_txn_count_90d",
    "hours_from_customer_typical_hour",
    "customer_hour_concentration_90d",
    "merchant_txn_count_28d",
    "merchant_fraud_rate_28d",
    *(f"merchant_fraud_rate_{window}" for window in MERCHANT_RATE_WINDOWS),
    *(f"merchant_fraud_lift_{window}" for window in MERCHANT_RATE_WINDOWS),
    "device_customers_30d",
    "ip_customers_30d",
)

CHANNELS: tuple[str, ...] = ("pos", "ecom", "wallet", "transfer", "atm")

FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "local_hour",
    *(f"channel_{channel}" for channel in CHANNELS),
    *_velocity_names(),
    "amount_to_customer_mean_24h",
    *(f"{entity}_seconds_since_first" for entity in FIRST_SEEN_ENTITIES),
    "card_distinct_merchants_24h",
    "card_distinct_countries_24h",
    "customer_seconds_since_last",
    "customer_amount_mean",
    "customer_amount_zscore",
    "device_new_for_customer",
    "country_new_for_customer",
    "device_distinct_cards_1h",
    "payee_distinct_payers_24h",
    "payee_new_payer_share_24h",
    *COLD_FEATURE_NAMES,
)

# The version of these definitions. Raise it whenever a feature is added, removed or computed
# differently: a decision and a model record the version their features were made with, and
# training recomputes only the stored features of an older version.
FEATURE_SET_VERSION = 2


def compute_features(event: Event, snapshot: Snapshot) -> Features:
    """Feature values for ``event`` from the state before it; keys are ``FEATURE_NAMES``."""
    features: Features = {"amount": event.amount, "local_hour": event.local_hour}
    for channel in CHANNELS:
        features[f"channel_{channel}"] = (
            None if event.channel is None else float(event.channel == channel)
        )
    features.update(_velocity_features(event, snapshot))
    features["amount_to_customer_mean_24h"] = _amount_to_window_mean(
        event.amount, snapshot.velocity.get("customer", {}).get("24h")
    )
    for entity in FIRST_SEEN_ENTITIES:
        features[f"{entity}_seconds_since_first"] = _since_first(event, entity, snapshot)
    features["card_distinct_merchants_24h"] = _opt_float(snapshot.card_distinct_merchants_24h)
    features["card_distinct_countries_24h"] = _opt_float(snapshot.card_distinct_countries_24h)
    features["customer_seconds_since_last"] = _seconds_since(event.ts, snapshot.customer_last_ts)
    stats = snapshot.customer_amounts
    features["customer_amount_mean"] = stats.mean if stats.n else None
    features["customer_amount_zscore"] = _zscore(event.amount, stats)
    known = snapshot.device_known_for_customer
    features["device_new_for_customer"] = None if known is None else float(not known)
    country = snapshot.country_known_for_customer
    features["country_new_for_customer"] = None if country is None else float(not country)
    features["device_distinct_cards_1h"] = _opt_float(snapshot.device_distinct_cards_1h)
    payers, new = snapshot.payee_distinct_payers_24h, snapshot.payee_new_payers_24h
    features["payee_distinct_payers_24h"] = _opt_float(payers)
    features["payee_new_payer_share_24h"] = (
        None if payers is None or new is None or payers == 0 else new / payers
    )
    features.update(_cold_features(event, snapshot.cold))
    return features


def _cold_features(event: Event, cold: ColdValues | None) -> Features:
    if cold is None:
        return dict.fromkeys(COLD_FEATURE_NAMES)
    customer, merchant = cold.customer, cold.merchant
    mean_30d, typical = customer.amount_mean_30d, customer.typical_hour
    return {
        "customer_txn_count_7d": float(customer.txns_7d),
        "customer_amount_sum_7d": round(customer.amount_sum_7d, 4),
        "amount_to_customer_mean_7d": _amount_to_window_mean(
            event.amount, WindowStats(customer.txns_7d, customer.amount_sum_7d)
        ),
        "customer_txn_count_30d": float(customer.txns_30d),
        "customer_amount_sum_30d": round(customer.amount_sum_30d, 4),
        "customer_amount_mean_30d": mean_30d,
        "amount_to_customer_mean_30d": event.amount / mean_30d if mean_30d else None,
        "customer_amount_mean_90d": customer.amount_mean_90d,
        "customer_txn_count_90d": float(customer.txns_90d),
        "hours_from_customer_typical_hour": (
            None
            if typical is None or event.local_hour is None
            else hours_apart(event.local_hour, typical)
        ),
        "customer_hour_concentration_90d": customer.hour_concentration,
        "merchant_txn_count_28d": float(merchant.txns_28d),
        "merchant_fraud_rate_28d": (
            merchant.known_fraud_28d / merchant.txns_28d if merchant.txns_28d else None
        ),
        **_merchant_rates(cold),
        "device_customers_30d": (
            None if event.device_id is None else float(cold.device_customers_30d)
        ),
        "ip_customers_30d": None if event.ip is None else float(cold.ip_customers_30d),
    }


def _merchant_rates(cold: ColdValues) -> Features:
    """The merchant's smoothed fraud rate per window, and how many times its integrator's
    rate in that window it is (the lift; None while the integrator has no known fraud)."""
    features: Features = {}
    for window in MERCHANT_RATE_WINDOWS:
        rate = cold.merchant.rate(window)
        smoothed, prior = rate.smoothed(), rate.prior()
        features[f"merchant_fraud_rate_{window}"] = smoothed
        features[f"merchant_fraud_lift_{window}"] = (
            smoothed / prior if smoothed is not None and prior else None
        )
    return features


def _amount_to_window_mean(amount: float, window: WindowStats | None) -> FeatureValue:
    """The amount against the mean payment of a window; None when the window is empty (or
    unknown): there is no mean to compare with."""
    if window is None or window.count == 0:
        return None
    mean = window.amount_sum / window.count
    return amount / mean if mean > 0 else None


def _since_first(event: Event, entity: str, snapshot: Snapshot) -> FeatureValue:
    """Seconds since the entity was first seen; 0 for one never seen before this event; None
    when the event has no such entity or the store did not answer."""
    if entity not in snapshot.first_seen:
        return None
    first = snapshot.first_seen[entity]
    return 0.0 if first is None else max(0.0, event.ts - first)


def _velocity_features(event: Event, snapshot: Snapshot) -> Features:
    features: Features = {}
    for entity in event.entity_values():
        stats = snapshot.velocity.get(entity, {})
        for window in WINDOWS:
            window_stats = stats.get(window)
            count_name = f"{entity}_txn_count_{window}"
            sum_name = f"{entity}_amount_sum_{window}"
            if window_stats is None:
                features[count_name] = features[sum_name] = None
            else:
                features[count_name] = float(window_stats.count)
                features[sum_name] = round(window_stats.amount_sum, 4)
    return features


def _opt_float(value: int | None) -> FeatureValue:
    return None if value is None else float(value)


def _seconds_since(ts: float, last_ts: float | None) -> FeatureValue:
    return None if last_ts is None else max(0.0, ts - last_ts)


def _zscore(amount: float, stats: RunningStats) -> FeatureValue:
    std = stats.std()
    if std is None or std == 0.0:
        return None
    return (amount - stats.mean) / std
