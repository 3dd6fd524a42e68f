"""SHAP contributions → reasons a person can read, with the real values (pure, no Django)."""

from __future__ import annotations

from collections.abc import Mapping

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
    if name in {"amount", "customer_amount_zscore", "customer_amount_mean"}:
        return _amount(features, currency)
    if name.startswith("channel_"):
        return f"Channel {name.removeprefix('channel_')}."
    if name == "local_hour":
        return (
            "No local time."
            if value is None
            else f"At {int(value):02d}:{int(value % 1 * 60):02d} local time."
        )
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
    amount, mean = features.get("amount"), features.get("customer_amount_mean")
    if amount is None:
        return "No amount."
    if mean:
        ratio = amount / mean
        return (
            f"Amount {amount:.2f} {currency} is {ratio:.1f}× this customer's average "
            f"of {mean:.2f} {currency}."
        )
    return f"Amount {amount:.2f} {currency}, with no history for this customer."


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
    "payee_new_payer_share_24h": "payee_distinct_payers_24h",
    "device_new_for_customer": "novelty",
    "country_new_for_customer": "novelty",
}
