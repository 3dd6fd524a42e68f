"""SHAP contributions → reasons a person can read, with the real values (pure, no Django).

A reason names a value that pushes toward fraud (its features' SHAP contributions add up to
more than 0) *and* is unusual for this entity, and says against what: "12 earlier payments on
this card in the last hour, against 2.0 a day usually." A missing value (the feature is
``None``: not sent, or the store or the cold generation did not answer) is never a reason, and
neither is a value that is this entity's usual one: such a contribution is left out, and the
next one takes its place.

"Unusual", per family (the tests compute the same definitions independently):

- **Counts of payments in a window** (``<entity>_txn_count_<window>``: the last minute, hour
  and 24 hours, hot; the customer's 7 and 30 days, cold). The *pace* of the customer is its
  payments in the 90 days before the cold generation, per day (``customer_txn_count_90d / 90``);
  a card, device or IP address is held against its customer's pace (an upper bound of its own),
  a merchant against its own (``merchant_txn_count_28d / 28``). A count ``c`` in a window of
  ``d`` days is unusual when a Poisson count of mean ``λ = pace · d`` reaches ``c`` or more
  with probability below :data:`UNUSUAL_TAIL` (1%), the pace taken as at least
  :data:`MIN_PACE_PER_DAY` (so two payments of a customer with little history are not
  alarming); or when it is ``c`` or fewer with probability below 1% (a silent card of a busy
  customer), which needs a pace from at least :data:`MIN_BASELINE_TXNS` payments.
- **Spend in a window** (``<entity>_amount_sum_<window>``, the customer's entities only): more
  than :data:`SPEND_FACTOR` times what the customer usually spends in such a window, the 90-day
  mean payment times ``max(1, λ)``.
- **The amount**: at least :data:`ORDINARY_AMOUNT_FACTOR` times the customer's 30-day mean (or
  the running mean of its history), or at most its inverse. No mean: no reason.
- **Time of day**: at least :data:`UNUSUAL_HOURS_APART` hours from the customer's typical hour
  and at least twice the circular standard deviation of its hours (``√(−2 ln R)``, R the
  90-day hour concentration).
- **Time since the customer's previous payment**: shorter than a Poisson process at the pace
  (at least 1 a day) gives a gap with probability 1%, or longer than one gives with 1% (needs
  the baseline above).
- **Novelty**: a device or a country never seen for this customer (the value 1).
- Families that say where an entity stands among the others, against fixed thresholds: a card,
  customer or device first seen less than :data:`NEW_ENTITY_SECONDS` ago; a customer with fewer
  than :data:`FEW_TXNS_90D` payments in 90 days; a merchant whose smoothed fraud rate in a
  window is at least :data:`MERCHANT_LIFT` times its integrator's (``merchant_fraud_lift_*``);
  a device or IP address used by several customers (or none) in 30 days; several cards on one
  device in an hour; a card in several countries in 24 hours; a payee most of whose payers are
  new to it.

Never told, whatever their contribution: the channel and the customer's hour concentration
(habits of the customer, not facts about this payment) and the means themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from scoring.features.catalogue import ENTITY_NOUNS, WINDOW_WORDS
from scoring.features.definitions import FeatureValue

Values = Mapping[str, FeatureValue]
# (code, text) of one reason; the code names the feature whose value the text states.
Told = tuple[str, str]

# A reason's contribution is stored with this many decimals.
CONTRIBUTION_DIGITS = 4
UNUSUAL_TAIL = 0.01
MIN_PACE_PER_DAY = 1.0
MIN_BASELINE_TXNS = 10
SPEND_FACTOR = 3.0
ORDINARY_AMOUNT_FACTOR = 1.5
UNUSUAL_HOURS_APART = 3.0
NEW_ENTITY_SECONDS = 86400.0
FEW_TXNS_90D = 10
MERCHANT_LIFT = 2.0
FAN_IN_PAYERS = 2

WINDOW_DAYS = {"1m": 1 / 1440, "1h": 1 / 24, "24h": 1.0, "7d": 7.0, "30d": 30.0}


# --- what is unusual ------------------------------------------------------------------------


def _log_pmf(k: int, lam: float) -> float:
    return -lam + k * math.log(lam) - math.lgamma(k + 1)


def poisson_at_least(c: int, lam: float) -> float:
    """P(X ≥ c) for X ~ Poisson(λ)."""
    if c <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if c <= lam:
        return 1.0 - poisson_at_most(c - 1, lam)
    total, k = 0.0, c
    while True:  # terms fall from k = c > λ on: sum until they no longer count
        term = math.exp(_log_pmf(k, lam))
        total += term
        if term <= total * 1e-12 or term == 0.0:
            return min(1.0, total)
        k += 1


def poisson_at_most(c: int, lam: float) -> float:
    """P(X ≤ c) for X ~ Poisson(λ)."""
    if c < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    return min(1.0, math.fsum(math.exp(_log_pmf(k, lam)) for k in range(c + 1)))


def customer_pace(values: Values) -> float | None:
    """The customer's payments per day over the 90 days before the cold generation."""
    count = values.get("customer_txn_count_90d")
    return None if count is None else count / 90


def pace_of(entity: str, values: Values) -> float | None:
    if entity == "merchant":
        count = values.get("merchant_txn_count_28d")
        return None if count is None else count / 28
    return customer_pace(values)


def _has_baseline(entity: str, values: Values) -> bool:
    name = "merchant_txn_count_28d" if entity == "merchant" else "customer_txn_count_90d"
    count = values.get(name)
    return count is not None and count >= MIN_BASELINE_TXNS


def count_is_high(count: float, pace: float, days: float) -> bool:
    lam = max(pace, MIN_PACE_PER_DAY) * days
    return poisson_at_least(round(count), lam) < UNUSUAL_TAIL


def count_is_low(count: float, pace: float, days: float) -> bool:
    return poisson_at_most(round(count), pace * days) < UNUSUAL_TAIL


def _spend_is_high(total: float, values: Values, days: float) -> bool:
    mean, pace = values.get("customer_amount_mean_90d"), customer_pace(values)
    if mean is None or pace is None:
        return False
    usual = mean * max(1.0, max(pace, MIN_PACE_PER_DAY) * days)
    return total > SPEND_FACTOR * usual


def _circular_std_hours(concentration: float) -> float:
    if concentration <= 0:
        return math.inf
    return math.sqrt(-2 * math.log(min(1.0, concentration))) * 24 / (2 * math.pi)


# --- words ----------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    """A duration in words: "less than a second", "1 second", "45 seconds", "5 minutes"..."""
    if seconds < 0.5:
        return "less than a second"
    if seconds < 1.5:
        return "1 second"
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.0f} days"


def _pace_words(pace: float) -> str:
    if pace == 0:
        return "no payments in the last 90 days"
    if pace >= 1:
        return f"{pace:.1f} a day usually"
    return f"{pace * 7:.1f} a week usually"


def _payments(n: float) -> str:
    return f"{n:.0f} earlier payment{'' if n == 1 else 's'}" if n else "No earlier payments"


def _velocity(
    name: str, values: Values, currency: str, positive: Mapping[str, float]
) -> Told | None:
    """A window's count, else its spend, when unusual and pushing toward fraud itself."""
    entity, _, rest = name.partition(":")
    window = rest
    count_name, sum_name = f"{entity}_txn_count_{window}", f"{entity}_amount_sum_{window}"
    pace, days = pace_of(entity, values), WINDOW_DAYS[window]
    count, total = values.get(count_name), values.get(sum_name)
    if pace is None or count is None:
        return None
    noun = ENTITY_NOUNS[entity]
    on = "at this merchant" if entity == "merchant" else f"on this {noun}"
    period = WINDOW_WORDS[window]
    if positive.get(count_name, 0.0) > 0:
        high = count_is_high(count, pace, days)
        low = _has_baseline(entity, values) and count_is_low(count, pace, days)
        if high or low:
            text = f"{_payments(count)} {on} in the last {period}, against {_pace_words(pace)}."
            return f"model.{count_name}", text
    pushes = positive.get(sum_name, 0.0) > 0 and entity != "merchant"
    if total is None or not pushes or not _spend_is_high(total, values, days):
        return None
    mean = values.get("customer_amount_mean_90d") or 0.0
    text = (
        f"{total:.2f} {currency} spent {on} in the last {period}, "
        f"against {mean:.2f} {currency} a payment usually."
    )
    return f"model.{sum_name}", text


def _amount(values: Values, currency: str) -> Told | None:
    amount = values.get("amount")
    if amount is None:
        return None
    for key, period in (("customer_amount_mean_30d", "30-day "), ("customer_amount_mean", "")):
        mean = values.get(key)
        if not mean:
            continue
        ratio = amount / mean
        usual = f"this customer's {period}average of {mean:.2f} {currency}"
        if ratio >= ORDINARY_AMOUNT_FACTOR:
            return "model.amount", f"Amount {amount:.2f} {currency} is {ratio:.1f}× {usual}."
        if ratio <= 1 / ORDINARY_AMOUNT_FACTOR:
            return "model.amount", f"Amount {amount:.2f} {currency} is far below {usual}."
        return None
    return None


def _local_time(values: Values) -> Told | None:
    hour, apart = values.get("local_hour"), values.get("hours_from_customer_typical_hour")
    concentration = values.get("customer_hour_concentration_90d")
    if hour is None or apart is None or concentration is None:
        return None
    if apart < max(UNUSUAL_HOURS_APART, 2 * _circular_std_hours(concentration)):
        return None
    at = f"At {int(hour):02d}:{int(hour % 1 * 60):02d} local time"
    return (
        "model.hours_from_customer_typical_hour",
        at + f", {apart:.1f} hours away from when this customer usually pays.",
    )


def _since_last(values: Values) -> Told | None:
    gap, pace = values.get("customer_seconds_since_last"), customer_pace(values)
    if gap is None or pace is None:
        return None
    days = gap / 86400
    code = "model.customer_seconds_since_last"
    if 1 - math.exp(-max(pace, MIN_PACE_PER_DAY) * days) < UNUSUAL_TAIL:
        text = f"Only {_duration(gap)} since this customer's previous payment"
        return code, f"{text}, against {_pace_words(pace)}."
    if _has_baseline("customer", values) and math.exp(-pace * days) < UNUSUAL_TAIL:
        text = f"{_duration(gap)} since this customer's previous payment: a long pause"
        return code, f"{text} for a customer paying {_pace_words(pace).removesuffix(' usually')}."
    return None


def _novelty(values: Values, country_code: str) -> Told | None:
    device, country = values.get("device_new_for_customer"), values.get("country_new_for_customer")
    where = f"country ({country_code})" if country_code else "country"
    parts = []
    if device == 1:
        parts.append("a device never seen")
    if country == 1:
        parts.append(f"a {where} never seen")
    if not parts:
        return None
    sentence = " and ".join(parts) + " for this customer."
    code = "model.device_new_for_customer" if device == 1 else "model.country_new_for_customer"
    return code, sentence[0].upper() + sentence[1:]


def _first_seen(entity: str) -> Callable[[Values], Told | None]:
    name = f"{entity}_seconds_since_first"

    def told(values: Values) -> Told | None:
        age = values.get(name)
        if age is None or age >= NEW_ENTITY_SECONDS:
            return None
        noun = ENTITY_NOUNS[entity]
        if age == 0:
            return f"model.{name}", f"A {noun} never seen before this payment."
        return f"model.{name}", f"This {noun} was first seen {_duration(age)} ago."

    return told


def _merchant_fraud(values: Values) -> Told | None:
    """The window where the merchant's fraud rate stands out most against its integrator's."""
    best: tuple[float, str] | None = None
    for window in ("1d", "7d", "30d"):
        lift = values.get(f"merchant_fraud_lift_{window}")
        if lift is not None and lift >= MERCHANT_LIFT and (best is None or lift > best[0]):
            best = (lift, window)
    if best is None:
        return None
    lift, window = best
    rate = values.get(f"merchant_fraud_rate_{window}") or 0.0
    return (
        f"model.merchant_fraud_lift_{window}",
        f"About {rate:.1%} of this merchant's payments in the last {WINDOW_WORDS[window]} "
        f"were reported as fraud: {lift:.1f}× the rate across all merchants.",
    )


def _used_by(noun: str, name: str) -> Callable[[Values], Told | None]:
    def told(values: Values) -> Told | None:
        value = values.get(name)
        if value is None or value == 1:
            return None
        if value == 0:
            return f"model.{name}", f"No customer used this {noun} in the last 30 days."
        return (
            f"model.{name}",
            f"This {noun} was used by {value:.0f} customers in the last 30 days.",
        )

    return told


def _customer_history(values: Values) -> Told | None:
    value = values.get("customer_txn_count_90d")
    if value is None or value >= FEW_TXNS_90D:
        return None
    if value == 0:
        return "model.customer_txn_count_90d", "No payments by this customer in the last 90 days."
    return (
        "model.customer_txn_count_90d",
        f"Only {value:.0f} payments by this customer in the last 90 days.",
    )


def _device_cards(values: Values) -> Told | None:
    value = values.get("device_distinct_cards_1h")
    if value is None or value < 2:
        return None
    return (
        "model.device_distinct_cards_1h",
        f"{value:.0f} cards were used on this device in the last hour.",
    )


def _card_countries(values: Values) -> Told | None:
    value = values.get("card_distinct_countries_24h")
    if value is None or value < 2:
        return None
    return (
        "model.card_distinct_countries_24h",
        f"This card was used in {value:.0f} different countries in the last 24 hours.",
    )


def _card_merchants(values: Values) -> Told | None:
    value, pace = values.get("card_distinct_merchants_24h"), customer_pace(values)
    if value is None or pace is None or not count_is_high(value, pace, 1.0):
        return None
    return (
        "model.card_distinct_merchants_24h",
        f"This card was used at {value:.0f} different merchants in the last 24 hours, "
        f"against {_pace_words(pace)}.",
    )


def _payee(values: Values) -> Told | None:
    payers, share = values.get("payee_distinct_payers_24h"), values.get("payee_new_payer_share_24h")
    if payers is None or share is None or payers < FAN_IN_PAYERS or share < 0.5:
        return None
    return (
        "model.payee_new_payer_share_24h",
        f"{payers:.0f} payers paid this payee in the last 24 hours, "
        f"{share:.0%} of them for the first time.",
    )


_TOLD: dict[str, Callable[[Values], Told | None]] = {
    "local_hour": _local_time,
    "customer_seconds_since_last": _since_last,
    "merchant_fraud": _merchant_fraud,
    "device_customers_30d": _used_by("device", "device_customers_30d"),
    "ip_customers_30d": _used_by("IP address", "ip_customers_30d"),
    "customer_txn_count_90d": _customer_history,
    "device_distinct_cards_1h": _device_cards,
    "card_distinct_countries_24h": _card_countries,
    "card_distinct_merchants_24h": _card_merchants,
    "payee": _payee,
    **{f"{e}_seconds_since_first": _first_seen(e) for e in ("card", "customer", "device")},
}

# Features told in one sentence: their contributions add up to the sentence's.
_GROUPS: dict[str, str] = {
    **dict.fromkeys(
        (
            "amount", "customer_amount_zscore", "customer_amount_mean", "customer_amount_mean_30d",
            "customer_amount_mean_90d", "amount_to_customer_mean_24h",
            "amount_to_customer_mean_7d", "amount_to_customer_mean_30d",
        ),
        "amount",
    ),
    **dict.fromkeys(
        ("local_hour", "hours_from_customer_typical_hour", "customer_hour_concentration_90d"),
        "local_hour",
    ),
    **dict.fromkeys(
        (
            "merchant_txn_count_28d", "merchant_fraud_rate_28d",
            *(f"merchant_fraud_{k}_{w}" for k in ("rate", "lift") for w in ("1d", "7d", "30d")),
        ),
        "merchant_fraud",
    ),
    **dict.fromkeys(("device_new_for_customer", "country_new_for_customer"), "novelty"),
    **dict.fromkeys(("payee_distinct_payers_24h", "payee_new_payer_share_24h"), "payee"),
}  # fmt: skip


def group_of(name: str) -> str:
    """The sentence a feature's contribution goes to: a velocity window is one sentence."""
    if name in _GROUPS:
        return _GROUPS[name]
    for kind in ("_txn_count_", "_amount_sum_"):
        entity, found, window = name.partition(kind)
        if found and entity in ENTITY_NOUNS and window in WINDOW_DAYS:
            return f"{entity}:{window}"
    return name


def describe(
    group: str,
    values: Values,
    currency: str,
    country_code: str = "",
    contributions: Mapping[str, float] | None = None,
) -> Told | None:
    """(code, sentence) for a group of features pushing toward fraud, or None when what it
    would cite is missing or usual for this entity."""
    if group == "amount":
        return _amount(values, currency)
    if group == "novelty":
        return _novelty(values, country_code)
    if ":" in group:
        return _velocity(group, values, currency, contributions or {})
    told = _TOLD.get(group)
    return None if told is None else told(values)


def top_reasons(
    contributions: Mapping[str, float],
    features: Values,
    currency: str,
    *,
    country_code: str = "",
    top: int = 3,
) -> list[tuple[str, str, float]]:
    """The ``top`` reasons toward fraud as (code, text, contribution), largest first.

    Features told in one sentence count as one reason with their contributions added; a group
    whose sum does not push toward fraud, or whose value is missing or usual, is left out.
    """
    merged: dict[str, float] = {}
    for name, contribution in contributions.items():
        group = group_of(name)
        merged[group] = merged.get(group, 0.0) + contribution
    by_text: dict[str, tuple[str, float]] = {}
    for group, contribution in sorted(merged.items(), key=lambda item: item[1], reverse=True):
        if round(contribution, CONTRIBUTION_DIGITS) <= 0:
            break  # toward fraud as stored, not only before rounding
        told = describe(group, features, currency, country_code, contributions)
        if told is not None:
            code, text = told
            _, total = by_text.get(text, (code, 0.0))
            by_text[text] = (code, total + contribution)
    ranked = sorted(by_text.items(), key=lambda item: item[1][1], reverse=True)
    return [(code, text, round(c, CONTRIBUTION_DIGITS)) for text, (code, c) in ranked[:top]]
