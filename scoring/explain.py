"""SHAP contributions → reasons a person can read, with the real values (pure, no Django)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scoring.features.definitions import FeatureValue

WINDOW_WORDS = {"1m": "minute", "1h": "hour", "24h": "24 hours"}
ENTITY_WORDS = {
    "card": "card",
    "customer": "customer",
    "merchant": "merchant",
    "device": "device",
    "ip": "IP address",
}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.0f} days"


def describe(
    name: str, features: Mapping[str, FeatureValue], currency: str, country_code: str = ""
) -> str | None:
    """Why feature ``name``'s value for this transaction pushed toward fraud, in one sentence.

    Only called for a contribution toward fraud. A value that is low or absent is said to be
    low or absent ("No earlier payments on this card …"), never stated as if it were alarming;
    ``None`` when the value is ordinary and no sentence about it could explain a suspicion
    (the reason is then left out rather than misleading the reader).
    """
    value = features.get(name)
    if name == "amount":
        return _amount(features, currency)
    if name in _COLD_SENTENCES:
        if features.get("customer_txn_count_90d") is None:
            return None  # no cold generation was read: its values are unknown, not zero
        return _COLD_SENTENCES[name](features)
    if value is None and features.get("customer_txn_count_1m") is None:
        # The feature store did not answer (a degraded decision): a missing value is unknown,
        # not "not sent" or "never seen".
        return None
    if name.startswith("channel_"):
        return _channel(name.removeprefix("channel_"), value)
    if name == "local_hour":
        return _local_time(features)
    if name == "novelty":
        return _novelty(features, country_code)
    if name == "device_distinct_cards_1h":
        if value is None:
            return "No device was sent with this payment."
        return (
            f"{value:.0f} cards were used on this device in the last hour." if value > 1 else None
        )
    if name.startswith("payee_"):
        return _payee(features)
    if name == "customer_seconds_since_last":
        return _since_last(value)
    if name.startswith("card_distinct_"):
        what = "merchants" if "merchants" in name else "countries"
        if value is None:
            return "No card was sent with this payment."
        if value < 2:
            return None
        return f"This card was used at {value:.0f} different {what} in the last 24 hours."
    return _velocity(name, value, currency)


CHANNEL_WORDS = {
    "ecom": "An online (e-commerce) payment.",
    "pos": "A payment at a point of sale.",
    "wallet": "A payment from a mobile wallet.",
    "transfer": "A transfer to another account.",
    "atm": "A cash withdrawal at an ATM.",
}


def _channel(channel: str, value: FeatureValue) -> str | None:
    # "Not ecom" pushing toward fraud names no fact about this payment a reader could weigh.
    if not value:
        return None
    return CHANNEL_WORDS.get(channel, f"Channel {channel}.")


# Gaps that say something: a burst (seconds or minutes) or a dormant customer waking up.
BURST_SECONDS = 600
DORMANT_SECONDS = 7 * 86400


def _since_last(value: FeatureValue) -> str | None:
    if value is None:
        return "The first transaction seen for this customer."
    if value < BURST_SECONDS:
        return f"Only {_duration(value)} since this customer's previous transaction."
    if value >= DORMANT_SECONDS:
        return f"{_duration(value)} since this customer's previous transaction: a long pause."
    return None


def _novelty(features: Mapping[str, FeatureValue], country_code: str) -> str | None:
    """What is new for this customer: the device, the country or both (None: neither)."""
    device = features.get("device_new_for_customer")
    country = features.get("country_new_for_customer")
    where = f"country ({country_code})" if country_code else "country"
    parts = []
    if device:
        parts.append("a device never seen")
    if country:
        parts.append(f"a {where} never seen")
    if not parts:
        return None
    sentence = " and ".join(parts) + " for this customer."
    return sentence[0].upper() + sentence[1:]


# A payee whose payers are mostly new to it, among at least this many: a mule's fan-in.
FAN_IN_PAYERS = 2


def _payee(features: Mapping[str, FeatureValue]) -> str | None:
    payers, share = (
        features.get("payee_distinct_payers_24h"),
        features.get("payee_new_payer_share_24h"),
    )
    if payers is None:
        return None
    if share is None:
        return "The first payment to this payee in 24 hours."
    if payers < FAN_IN_PAYERS or share < 0.5:
        return None
    return (
        f"{payers:.0f} payers paid this payee in the last 24 hours, "
        f"{share:.0%} of them for the first time."
    )


# An amount within this factor of the customer's average is ordinary for them.
ORDINARY_AMOUNT_FACTOR = 1.5


def _amount(features: Mapping[str, FeatureValue], currency: str) -> str | None:
    amount = features.get("amount")
    if amount is None:
        return None
    for key, period in (("customer_amount_mean_30d", "30-day "), ("customer_amount_mean", "")):
        mean = features.get(key)
        if not mean:
            continue
        ratio = amount / mean
        usual = f"this customer's {period}average of {mean:.2f} {currency}"
        if ratio >= ORDINARY_AMOUNT_FACTOR:
            return f"Amount {amount:.2f} {currency} is {ratio:.1f}× {usual}."
        if ratio <= 1 / ORDINARY_AMOUNT_FACTOR:
            return f"Amount {amount:.2f} {currency} is far below {usual}."
        return None
    return f"Amount {amount:.2f} {currency}, with no history for this customer."


# Hours from the customer's usual time of day that make a payment's time stand out.
UNUSUAL_HOURS_APART = 3.0


def _local_time(features: Mapping[str, FeatureValue]) -> str | None:
    hour, apart = features.get("local_hour"), features.get("hours_from_customer_typical_hour")
    if hour is None:
        return None
    at = f"At {int(hour):02d}:{int(hour % 1 * 60):02d} local time"
    if apart is not None:
        if apart < UNUSUAL_HOURS_APART:
            return None
        return at + f", {apart:.1f} hours away from when this customer usually pays."
    return at + ", at night." if hour < 6 else None


def _merchant_fraud(features: Mapping[str, FeatureValue]) -> str | None:
    rate, txns = features.get("merchant_fraud_rate_28d"), features.get("merchant_txn_count_28d")
    if rate is None or not txns:
        return "A merchant with no payments in the last 28 days."
    if rate == 0:
        return None
    return (
        f"{rate:.1%} of this merchant's {txns:.0f} payments in the last 28 days "
        "were reported as fraud."
    )


def _used_by(noun: str, name: str) -> Callable[[Mapping[str, FeatureValue]], str | None]:
    def sentence(features: Mapping[str, FeatureValue]) -> str | None:
        value = features.get(name)
        if value is None:
            return f"No {noun} was sent with this payment."
        if value == 0:
            return f"No customer used this {noun} in the last 30 days."
        if value == 1:
            return None
        return f"This {noun} was used by {value:.0f} customers in the last 30 days."

    return sentence


# Fewer payments than this in 90 days: a customer with little history.
FEW_TXNS_90D = 10


def _customer_count(features: Mapping[str, FeatureValue]) -> str | None:
    value = features.get("customer_txn_count_90d")
    if not value:
        return "No transactions by this customer in the last 90 days."
    if value >= FEW_TXNS_90D:
        return None
    return f"Only {value:.0f} transactions by this customer in the last 90 days."


def _concentration(features: Mapping[str, FeatureValue]) -> str | None:
    value = features.get("customer_hour_concentration_90d")
    if value is None:
        return "No usual time of day for this customer."
    if value >= 0.5:
        return None
    return f"This customer pays at irregular times of day (concentration {value:.2f})."


_COLD_SENTENCES: dict[str, Callable[[Mapping[str, FeatureValue]], str | None]] = {
    "merchant_fraud_rate_28d": _merchant_fraud,
    "device_customers_30d": _used_by("device", "device_customers_30d"),
    "ip_customers_30d": _used_by("IP address", "ip_customers_30d"),
    "customer_txn_count_90d": _customer_count,
    "customer_hour_concentration_90d": _concentration,
}


def _velocity(name: str, value: FeatureValue, currency: str) -> str | None:
    entity, _, rest = name.partition("_")
    window = rest.rsplit("_", 1)[-1]
    noun = ENTITY_WORDS.get(entity, entity)
    period = WINDOW_WORDS.get(window, window)
    on = "at this merchant" if entity == "merchant" else f"on this {noun}"
    if value is None:
        return f"No {noun} was sent with this payment."
    if value == 0 and ("_txn_count_" in name or "_amount_sum_" in name):
        # No count and no spending are one fact: the same words merge them into one reason.
        return f"No earlier payments {on} in the last {period}."
    if "_txn_count_" in name:
        plural = "" if value == 1 else "s"
        return f"{value:.0f} earlier transaction{plural} {on} in the last {period}."
    if "_amount_sum_" in name:
        return f"{value:.2f} {currency} spent {on} in the last {period}."
    return f"{name} = {value}"


def top_reasons(
    contributions: Mapping[str, float],
    features: Mapping[str, FeatureValue],
    currency: str,
    *,
    country_code: str = "",
    top: int = 3,
) -> list[tuple[str, str, float]]:
    """The ``top`` contributions toward fraud as (code, text, contribution), largest first.

    Contributions told in one sentence (amount, its z-score and the customer's mean) count as
    one reason, and so do features that come out as the same words ("No device was sent …").
    A contribution whose value :func:`describe` cannot tell as a reason is left out.
    """
    merged: dict[str, float] = {}
    for name, contribution in contributions.items():
        key = _SAME_SENTENCE.get(name, name)
        merged[key] = merged.get(key, 0.0) + contribution
    by_text: dict[str, tuple[str, float]] = {}
    for name, contribution in sorted(merged.items(), key=lambda item: item[1], reverse=True):
        if contribution <= 0:
            break
        text = describe(name, features, currency, country_code)
        if text is not None:
            code, total = by_text.get(text, (f"model.{name}", 0.0))
            by_text[text] = (code, total + contribution)
    ranked = sorted(by_text.items(), key=lambda item: item[1][1], reverse=True)
    return [(code, text, round(c, 4)) for text, (code, c) in ranked[:top]]


# Features told in one sentence count as one reason.
_SAME_SENTENCE = {
    "customer_amount_zscore": "amount",
    "customer_amount_mean": "amount",
    "customer_amount_mean_30d": "amount",
    "amount_to_customer_mean_30d": "amount",
    "customer_amount_mean_90d": "amount",
    "hours_from_customer_typical_hour": "local_hour",
    "merchant_txn_count_28d": "merchant_fraud_rate_28d",
    "payee_new_payer_share_24h": "payee_distinct_payers_24h",
    "device_new_for_customer": "novelty",
    "country_new_for_customer": "novelty",
}
