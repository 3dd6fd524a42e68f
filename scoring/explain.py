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
) -> str:
    """One sentence about feature ``name`` and its value for this transaction."""
    value = features.get(name)
    if name == "amount":
        return _amount(features, currency)
    if name in _COLD_SENTENCES:
        return _COLD_SENTENCES[name](features)
    if name.startswith("channel_"):
        return f"Channel {name.removeprefix('channel_')}."
    if name == "local_hour":
        return _local_time(features)
    if name == "novelty":
        return _novelty(features, country_code)
    if name == "device_distinct_cards_1h":
        if value is None:
            return "No device or card was sent."
        return f"{value:.0f} other cards used on this device in the last hour."
    if name.startswith("payee_"):
        return _payee(features)
    if name == "customer_seconds_since_last":
        if value is None:
            return "The first transaction seen for this customer."
        return f"{_duration(value)} since this customer's previous transaction."
    if name.startswith("card_distinct_"):
        what = "merchants" if "merchants" in name else "countries"
        if value is None:
            return "No card was sent."
        return f"This card was used at {value:.0f} different {what} in the last 24 hours."
    return _velocity(name, value, currency)


def _novelty(features: Mapping[str, FeatureValue], country_code: str) -> str:
    """Device and country, new or known for this customer, in one sentence."""
    device = features.get("device_new_for_customer")
    country = features.get("country_new_for_customer")
    where = f"country ({country_code})" if country_code else "country"
    parts = []
    if device is not None:
        parts.append("a device never seen" if device else "a device seen before")
    if country is not None:
        parts.append(f"a {where} never seen" if country else f"a {where} seen before")
    if not parts:
        return "No device or country was sent."
    sentence = " and ".join(parts) + " for this customer."
    return sentence[0].upper() + sentence[1:]


def _payee(features: Mapping[str, FeatureValue]) -> str:
    payers, share = (
        features.get("payee_distinct_payers_24h"),
        features.get("payee_new_payer_share_24h"),
    )
    if payers is None:
        return "No payee was sent."
    if share is None:
        return "The first payment to this payee in 24 hours."
    return (
        f"{payers:.0f} payers paid this payee in the last 24 hours, "
        f"{share:.0%} of them for the first time."
    )


def _amount(features: Mapping[str, FeatureValue], currency: str) -> str:
    amount = features.get("amount")
    if amount is None:
        return "No amount."
    for key, period in (("customer_amount_mean_30d", "30-day "), ("customer_amount_mean", "")):
        mean = features.get(key)
        if mean:
            return (
                f"Amount {amount:.2f} {currency} is {amount / mean:.1f}× this customer's "
                f"{period}average of {mean:.2f} {currency}."
            )
    return f"Amount {amount:.2f} {currency}, with no history for this customer."


def _local_time(features: Mapping[str, FeatureValue]) -> str:
    hour, apart = features.get("local_hour"), features.get("hours_from_customer_typical_hour")
    if hour is None:
        return "No local time."
    sentence = f"At {int(hour):02d}:{int(hour % 1 * 60):02d} local time"
    if apart is None:
        return sentence + "."
    return sentence + f", {apart:.1f} hours away from when this customer usually pays."


def _merchant_fraud(features: Mapping[str, FeatureValue]) -> str:
    rate, txns = features.get("merchant_fraud_rate_28d"), features.get("merchant_txn_count_28d")
    if rate is None or not txns:
        return "A merchant with no payments in the last 28 days."
    return (
        f"{rate:.1%} of this merchant's {txns:.0f} payments in the last 28 days "
        "were reported as fraud."
    )


def _used_by(noun: str, name: str) -> Callable[[Mapping[str, FeatureValue]], str]:
    def sentence(features: Mapping[str, FeatureValue]) -> str:
        value = features.get(name)
        if value is None:
            return f"No {noun} was sent."
        return f"This {noun} was used by {value:.0f} customers in the last 30 days."

    return sentence


def _customer_count(features: Mapping[str, FeatureValue]) -> str:
    value = features.get("customer_txn_count_90d")
    if not value:
        return "No transactions by this customer in the last 90 days."
    return f"{value:.0f} transactions by this customer in the last 90 days."


def _concentration(features: Mapping[str, FeatureValue]) -> str:
    value = features.get("customer_hour_concentration_90d")
    if value is None:
        return "No usual time of day for this customer."
    regular = "regular" if value >= 0.5 else "irregular"
    return f"This customer pays at {regular} times of day (concentration {value:.2f})."


_COLD_SENTENCES: dict[str, Callable[[Mapping[str, FeatureValue]], str]] = {
    "merchant_fraud_rate_28d": _merchant_fraud,
    "device_customers_30d": _used_by("device", "device_customers_30d"),
    "ip_customers_30d": _used_by("IP address", "ip_customers_30d"),
    "customer_txn_count_90d": _customer_count,
    "customer_hour_concentration_90d": _concentration,
}


def _velocity(name: str, value: FeatureValue, currency: str) -> str:
    entity, _, rest = name.partition("_")
    window = rest.rsplit("_", 1)[-1]
    noun = ENTITY_WORDS.get(entity, entity)
    period = WINDOW_WORDS.get(window, window)
    if value is None:
        return f"No {noun} was sent."
    if "_txn_count_" in name:
        return f"{value:.0f} earlier transactions on this {noun} in the last {period}."
    if "_amount_sum_" in name:
        return f"{value:.2f} {currency} spent on this {noun} in the last {period}."
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
    one reason.
    """
    merged: dict[str, float] = {}
    for name, contribution in contributions.items():
        key = _SAME_SENTENCE.get(name, name)
        merged[key] = merged.get(key, 0.0) + contribution
    ranked = sorted(
        ((n, c) for n, c in merged.items() if c > 0), key=lambda item: item[1], reverse=True
    )
    return [
        (f"model.{n}", describe(n, features, currency, country_code), round(c, 4))
        for n, c in ranked[:top]
    ]


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
