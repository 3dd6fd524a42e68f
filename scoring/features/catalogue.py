"""The feature catalogue: what each feature and rule fact means to a person (pure, no Django).

Per name a human label, a unit, a group and a one-line description. The case page, the SHAP
chart, the rule editor's list of facts and ``docs/features.md`` all read it from here, so a
feature is named the same way everywhere. A feature in ``FEATURE_NAMES`` or a fact in
``RULE_FACTS`` without an entry fails ``tests/scoring/test_catalogue.py``: the velocity
families below are spelled out from their own tables, not from the definitions, so adding an
entity or a window to the definitions needs an entry here too.

One-hot features (``channel_pos``, ``channel_wallet``, …) carry ``one_hot`` (the group's
label, "Channel") and ``one_hot_value`` ("mobile wallet", the channel in words,
:data:`CHANNEL_WORDS`): they are shown as one value, "Channel: mobile wallet", never as five
0/1 numbers nor as a code such as ``channel_wallet``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Group(StrEnum):
    TRANSACTION = "transaction"
    VELOCITY = "velocity"
    HABITS = "customer habits"
    DEVICE = "device and network"
    MERCHANT = "merchant"


# The order groups are shown in.
GROUP_ORDER: tuple[Group, ...] = tuple(Group)


class Unit(StrEnum):
    COUNT = "count"
    MONEY = "amount"  # in the transaction's own currency: amounts are never converted
    SECONDS = "seconds"
    RATIO = "ratio"  # times a mean
    SHARE = "share"  # 0..1, shown as a percentage
    FLAG = "flag"  # 1 yes, 0 no
    HOUR = "hour of day"
    HOURS = "hours"
    ZSCORE = "standard deviations"
    CONCENTRATION = "concentration"  # 0..1, the mean resultant length of hours
    TEXT = "text"


@dataclass(frozen=True)
class FeatureInfo:
    name: str
    label: str
    unit: Unit
    group: Group
    description: str
    one_hot: str | None = None  # the label of the one-hot group this feature is a value of
    one_hot_value: str | None = None


# How an entity and a window are said, here and in the model's reasons (scoring/explain.py).
ENTITY_NOUNS: Mapping[str, str] = {
    "card": "card",
    "customer": "customer",
    "merchant": "merchant",
    "device": "device",
    "ip": "IP address",
}
_ENTITY_GROUPS: Mapping[str, Group] = {
    "card": Group.VELOCITY,
    "customer": Group.VELOCITY,
    "merchant": Group.MERCHANT,
    "device": Group.DEVICE,
    "ip": Group.DEVICE,
}
_HOT_WINDOWS: Mapping[str, str] = {"1m": "minute", "1h": "hour", "24h": "24 hours"}
# A channel's code (what integrators send and rules compare) and the words a person reads.
CHANNEL_WORDS: Mapping[str, str] = {
    "pos": "in store",
    "ecom": "online",
    "wallet": "mobile wallet",
    "transfer": "bank transfer",
    "atm": "cash machine",
}
_CHANNELS: tuple[str, ...] = tuple(CHANNEL_WORDS)
_MERCHANT_WINDOWS: Mapping[str, str] = {"1d": "day", "7d": "7 days", "30d": "30 days"}
_COLD_WINDOWS: Mapping[str, str] = {"7d": "7 days", "30d": "30 days"}
WINDOW_WORDS: Mapping[str, str] = {**_HOT_WINDOWS, **_MERCHANT_WINDOWS, **_COLD_WINDOWS}


def _velocity() -> Iterable[FeatureInfo]:
    for entity, noun in ENTITY_NOUNS.items():
        group = _ENTITY_GROUPS[entity]
        at = "at this merchant" if entity == "merchant" else f"on this {noun}"
        for window, words in _HOT_WINDOWS.items():
            yield FeatureInfo(
                f"{entity}_txn_count_{window}",
                f"Payments {at}, last {words}",
                Unit.COUNT,
                group,
                f"Earlier payments {at} in the last {words} (this one not counted).",
            )
            yield FeatureInfo(
                f"{entity}_amount_sum_{window}",
                f"Spent {at}, last {words}",
                Unit.MONEY,
                group,
                f"Total amount of the earlier payments {at} in the last {words}.",
            )


def _channels() -> Iterable[FeatureInfo]:
    for channel in _CHANNELS:
        yield FeatureInfo(
            f"channel_{channel}",
            f"Channel: {CHANNEL_WORDS[channel]}",
            Unit.FLAG,
            Group.TRANSACTION,
            f"1 when the payment came {CHANNEL_WORDS[channel]} ({channel}; one-hot).",
            one_hot="Channel",
            one_hot_value=CHANNEL_WORDS[channel],
        )


def _merchant_rates() -> Iterable[FeatureInfo]:
    for window, words in _MERCHANT_WINDOWS.items():
        yield FeatureInfo(
            f"merchant_fraud_rate_{window}",
            f"Merchant fraud rate, last {words}",
            Unit.SHARE,
            Group.MERCHANT,
            f"Share of the merchant's payments in the last {words} reported as fraud, "
            "smoothed toward its integrator's rate.",
        )
        yield FeatureInfo(
            f"merchant_fraud_lift_{window}",
            f"Merchant fraud rate vs. all merchants, last {words}",
            Unit.RATIO,
            Group.MERCHANT,
            f"The merchant's fraud rate in the last {words} as a multiple of its "
            "integrator's rate (none while the integrator has no known fraud).",
        )


_T, _V, _H, _D, _M = Group.TRANSACTION, Group.VELOCITY, Group.HABITS, Group.DEVICE, Group.MERCHANT
_U = Unit

_LISTED: tuple[tuple[str, str, Unit, Group, str], ...] = (
    ("amount", "Amount", _U.MONEY, _T, "The payment's amount, in its own currency."),
    ("local_hour", "Local time", _U.HOUR, _T, "Time of day in the payer's own UTC offset."),
    ("amount_to_customer_mean_24h", "Amount vs. 24-hour mean", _U.RATIO, _H,
     "The amount against the customer's mean payment in the last 24 hours."),
    ("card_seconds_since_first", "Card age", _U.SECONDS, _V,
     "Time since the card was first seen (0: never before this payment)."),
    ("customer_seconds_since_first", "Customer age", _U.SECONDS, _H,
     "Time since the customer was first seen (0: never before this payment)."),
    ("device_seconds_since_first", "Device age", _U.SECONDS, _D,
     "Time since the device was first seen (0: never before this payment)."),
    ("card_distinct_merchants_24h", "Merchants on this card, last 24 hours", _U.COUNT, _V,
     "Distinct merchants the card paid in the last 24 hours."),
    ("card_distinct_countries_24h", "Countries on this card, last 24 hours", _U.COUNT, _V,
     "Distinct countries the card was used in during the last 24 hours."),
    ("customer_seconds_since_last", "Time since the customer's previous payment", _U.SECONDS,
     _V, "Seconds since this customer's previous payment."),
    ("customer_amount_mean", "Customer's mean payment (all history)", _U.MONEY, _H,
     "Running mean of every earlier payment of the customer."),
    ("customer_amount_zscore", "Amount vs. customer's spread", _U.ZSCORE, _H,
     "How many standard deviations the amount is from the customer's running mean."),
    ("device_new_for_customer", "New device for the customer", _U.FLAG, _D,
     "1 when the customer never used this device before."),
    ("country_new_for_customer", "New country for the customer", _U.FLAG, _H,
     "1 when the customer never paid from this country before."),
    ("device_distinct_cards_1h", "Cards on this device, last hour", _U.COUNT, _D,
     "Distinct cards used on the device in the last hour."),
    ("payee_distinct_payers_24h", "Payers of this payee, last 24 hours", _U.COUNT, _M,
     "Distinct payers who paid this payee in the last 24 hours."),
    ("payee_new_payer_share_24h", "New payers of this payee, last 24 hours", _U.SHARE, _M,
     "Share of the payee's payers in the last 24 hours paying it for the first time."),
    ("customer_txn_count_7d", "Payments by the customer, last 7 days", _U.COUNT, _H,
     "The customer's payments in the 7 days before the cold generation."),
    ("customer_amount_sum_7d", "Spent by the customer, last 7 days", _U.MONEY, _H,
     "The customer's total spend in the 7 days before the cold generation."),
    ("amount_to_customer_mean_7d", "Amount vs. 7-day mean", _U.RATIO, _H,
     "The amount against the customer's mean payment over 7 days."),
    ("customer_txn_count_30d", "Payments by the customer, last 30 days", _U.COUNT, _H,
     "The customer's payments in the 30 days before the cold generation."),
    ("customer_amount_sum_30d", "Spent by the customer, last 30 days", _U.MONEY, _H,
     "The customer's total spend in the 30 days before the cold generation."),
    ("customer_amount_mean_30d", "Customer's mean payment, 30 days", _U.MONEY, _H,
     "The customer's mean payment over 30 days."),
    ("amount_to_customer_mean_30d", "Amount vs. 30-day mean", _U.RATIO, _H,
     "The amount against the customer's mean payment over 30 days."),
    ("customer_amount_mean_90d", "Customer's mean payment, 90 days", _U.MONEY, _H,
     "The customer's mean payment over 90 days."),
    ("customer_txn_count_90d", "Payments by the customer, last 90 days", _U.COUNT, _H,
     "The customer's payments in 90 days: its pace, and how much history it has."),
    ("hours_from_customer_typical_hour", "Hours from the customer's usual time", _U.HOURS, _H,
     "Hours between this payment's local time and the customer's typical hour."),
    ("customer_hour_concentration_90d", "How regular the customer's hours are",
     _U.CONCENTRATION, _H,
     "0: pays at any hour, 1: always at the same hour (over 90 days)."),
    ("merchant_txn_count_28d", "Payments at this merchant, last 28 days", _U.COUNT, _M,
     "The merchant's payments in the 28 days before the cold generation."),
    ("merchant_fraud_rate_28d", "Merchant known fraud rate, 28 days", _U.SHARE, _M,
     "Share of the merchant's payments in 28 days known to be fraud (unsmoothed)."),
    ("device_customers_30d", "Customers on this device, last 30 days", _U.COUNT, _D,
     "Distinct customers who used the device in 30 days."),
    ("ip_customers_30d", "Customers on this IP address, last 30 days", _U.COUNT, _D,
     "Distinct customers who paid from the IP address in 30 days."),
    # Rule facts that are not model features.
    ("hour_of_day", "Hour of day (UTC offset as sent)", _U.HOUR, _T,
     "The whole hour of the payment's time as the integrator sent it."),
    ("currency", "Currency", _U.TEXT, _T, "ISO 4217 code of the payment's currency."),
    ("channel", "Channel", _U.TEXT, _T,
     "Its code: " + ", ".join(f"{c} ({w})" for c, w in CHANNEL_WORDS.items()) + "."),
    ("country", "Country", _U.TEXT, _T, "ISO 3166 code of the country the payment came from."),
    ("merchant_id", "Merchant", _U.TEXT, _M, "The merchant's id."),
    ("merchant_category", "Merchant category", _U.TEXT, _M, "The merchant's category code."),
    ("customer_id", "Customer", _U.TEXT, _H, "The customer's id."),
    ("card_id", "Card", _U.TEXT, _V, "The card's id (a token, never the number)."),
    ("device_id", "Device", _U.TEXT, _D, "The device's id."),
    ("ip", "IP address", _U.TEXT, _D, "The IP address the payment came from."),
    ("payee_id", "Payee", _U.TEXT, _M, "Who a transfer pays."),
    ("email_domain", "E-mail domain", _U.TEXT, _D, "The domain of the payer's e-mail address."),
)  # fmt: skip


def _catalogue() -> dict[str, FeatureInfo]:
    entries = [
        *_velocity(),
        *_channels(),
        *_merchant_rates(),
        *(FeatureInfo(*row) for row in _LISTED),
    ]
    catalogue = {info.name: info for info in entries}
    assert len(catalogue) == len(entries), "a name is catalogued twice"
    return catalogue


CATALOGUE: Mapping[str, FeatureInfo] = _catalogue()


def feature_info(name: str) -> FeatureInfo | None:
    return CATALOGUE.get(name)


def feature_label(name: str) -> str:
    """The human label of a feature; the name itself for one not catalogued (an old model's)."""
    info = CATALOGUE.get(name)
    return name if info is None else info.label


def missing_from_catalogue(names: Iterable[str]) -> list[str]:
    return sorted(name for name in names if name not in CATALOGUE)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def value_text(info: FeatureInfo, value: float | str | None, currency: str = "") -> str:
    """A value in its unit, for a person: "120.00 EUR", "3 min", "1.8×", "yes"."""
    if value is None:
        return "–"
    if isinstance(value, str) or info.unit is Unit.TEXT:
        return str(value)
    if math.isnan(value):
        return "–"
    match info.unit:
        case Unit.COUNT:
            return f"{value:.0f}"
        case Unit.MONEY:
            return f"{value:.2f} {currency}".rstrip()
        case Unit.SECONDS:
            return _duration(value)
        case Unit.RATIO:
            return f"{value:.2f}×"
        case Unit.SHARE:
            return f"{value:.1%}"
        case Unit.FLAG:
            return "yes" if value >= 0.5 else "no"
        case Unit.HOUR:
            minutes = round(value * 60)
            return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"
        case Unit.HOURS:
            return f"{value:.1f} h"
        case _:
            return f"{value:.2f}"


def markdown_table(names: Iterable[str]) -> str:
    """The entries of ``names`` as a Markdown table, in group order."""
    infos = sorted((CATALOGUE[name] for name in names), key=lambda i: GROUP_ORDER.index(i.group))
    lines = ["| name | label | unit | group | description |", "|---|---|---|---|---|"]
    for info in infos:
        lines.append(
            f"| `{info.name}` | {info.label} | {info.unit} | {info.group} | {info.description} |"
        )
    return "\n".join(lines) + "\n"


DOCS_HEADER = """# Features and rule facts

Generated from `scoring/features/catalogue.py` by `manage.py features_doc`;
`tests/scoring/test_catalogue.py` fails when this file is out of date.
Amounts are in the transaction's own currency. A missing value (no device sent, no history
yet) is never a made-up 0.
"""


def docs_text(features: Iterable[str], rule_only_facts: Iterable[str]) -> str:
    """docs/features.md: the model's features, then the facts only rules can name."""
    return (
        f"{DOCS_HEADER}\n## Model features (also rule facts)\n\n{markdown_table(features)}"
        f"\n## Rule facts that are not model features\n\n{markdown_table(rule_only_facts)}"
    )
