"""Cold (batch) features: per-entity aggregates over long windows (pure, no Django).

Hot features (``definitions.py``) change with every transaction and are kept by the online
store. Cold ones change slowly and would be too costly to keep per event: a customer's 30- and
90-day mean amount and typical hour, a merchant's fraud rate over 28 days, how many customers a
device or IP address was used by. A periodic job computes them *as of* a moment ``as_of``
from the transactions before it and the labels *reported* before it (a chargeback that arrives
three weeks late counts only from then on), and publishes them to the store as one generation.

:class:`ColdHistory` is the one definition of these values. The batch job builds it from the
rows of the last 90 days and publishes :meth:`ColdHistory.entries`; a training replay builds it
from all rows and asks :meth:`ColdHistory.entry` for the generation each decision recorded.
Sums are exact (``math.fsum``), so both answer the same value to the last bit.

A value is encoded as a short comma-separated string: what the store holds per entity.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from scoring.features.event import Event

DAY = 86400
CUSTOMER_SHORT_WINDOW = 30 * DAY
CUSTOMER_LONG_WINDOW = 90 * DAY
MERCHANT_WINDOW = 28 * DAY
SEEN_WINDOW = 30 * DAY
# A customer's spend and count over these windows (before ``as_of``); the last 24 hours are hot.
CUSTOMER_SPEND_WINDOWS: dict[str, float] = {"7d": 7 * DAY, "30d": 30 * DAY}
# A merchant's fraud rate over these windows: payments that occurred in the window before
# ``as_of``, fraud among them as reported before ``as_of``.
MERCHANT_RATE_WINDOWS: dict[str, float] = {"1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
# The fraud rates are smoothed toward the integrator's own rate in the same window (a Beta
# prior of this many pseudo-payments): (fraud + m·p) / (payments + m). A merchant with 3
# payments and 1 chargeback reads about its integrator's rate, not 33%.
FRAUD_RATE_PRIOR_PAYMENTS = 20.0
# How far back the batch job reads: the longest window.
HISTORY_WINDOW = max(CUSTOMER_SHORT_WINDOW, CUSTOMER_LONG_WINDOW, MERCHANT_WINDOW, SEEN_WINDOW)

# Entity kinds and the prefix of their entry keys ("c:<scope>:<customer id>", ...).
CUSTOMER, MERCHANT, DEVICE, IP = "c", "m", "d", "i"


def as_of_for(ts: float, period: float) -> float:
    """The start of the refresh period ``ts`` falls in: the generation a beat on time made."""
    return math.floor(ts / period) * period


def entry_key(kind: str, scope: str, entity_id: str) -> str:
    return f"{kind}:{scope}:{entity_id}"


class ScopedEvent(NamedTuple):
    """A transaction as cold history takes it: its event, and its integrator's scope."""

    scope: str
    event: Event


@dataclass(frozen=True)
class ColdLabel:
    scope: str
    ref: str
    fraud: bool
    reported_at: float


@dataclass(frozen=True)
class CustomerCold:
    amount_mean_30d: float | None = None
    amount_mean_90d: float | None = None
    txns_90d: int = 0
    # Circular mean of the local hour over 90 days, and how concentrated the hours are (0..1).
    typical_hour: float | None = None
    hour_concentration: float | None = None
    # Payments and their amount sum per CUSTOMER_SPEND_WINDOWS (7d, 30d).
    txns_7d: int = 0
    amount_sum_7d: float = 0.0
    txns_30d: int = 0
    amount_sum_30d: float = 0.0


@dataclass(frozen=True)
class WindowRate:
    """Payments in a window before ``as_of``, the known frauds among them, and the same for
    every merchant of the integrator (the prior); no payments at all: no rate."""

    txns: int = 0
    known_fraud: int = 0
    scope_txns: int = 0
    scope_known_fraud: int = 0

    def prior(self) -> float | None:
        return self.scope_known_fraud / self.scope_txns if self.scope_txns else None

    def smoothed(self) -> float | None:
        """(fraud + m·p) / (payments + m), m = FRAUD_RATE_PRIOR_PAYMENTS, p = the prior."""
        prior = self.prior()
        if prior is None:
            return None
        m = FRAUD_RATE_PRIOR_PAYMENTS
        return (self.known_fraud + m * prior) / (self.txns + m)


@dataclass(frozen=True)
class MerchantCold:
    txns_28d: int = 0
    known_fraud_28d: int = 0
    # MERCHANT_RATE_WINDOWS' names → the window's counts (a merchant with no entry: none).
    rates: tuple[tuple[str, WindowRate], ...] = ()

    def rate(self, window: str) -> WindowRate:
        return dict(self.rates).get(window, WindowRate())


@dataclass(frozen=True)
class ColdValues:
    """The cold values of one event's entities, from the generation computed ``as_of``."""

    as_of: float
    customer: CustomerCold = CustomerCold()
    merchant: MerchantCold = MerchantCold()
    device_customers_30d: int = 0
    ip_customers_30d: int = 0


# --- encoding (what the store holds) -------------------------------------------------------


def _num(x: float | None) -> str:
    return "" if x is None else repr(x)


def _opt(text: str) -> float | None:
    return float(text) if text else None


def encode_customer(value: CustomerCold) -> str:
    return ",".join(
        [
            _num(value.amount_mean_30d),
            _num(value.amount_mean_90d),
            str(value.txns_90d),
            _num(value.typical_hour),
            _num(value.hour_concentration),
            str(value.txns_7d),
            repr(value.amount_sum_7d),
            str(value.txns_30d),
            repr(value.amount_sum_30d),
        ]
    )


def decode_customer(text: str) -> CustomerCold:
    """An entry of a generation published before the 7- and 30-day sums (five fields) reads
    them as zero."""
    if not text:
        return CustomerCold()
    mean_30d, mean_90d, txns, hour, concentration, *spend = text.split(",")
    txns_7d, sum_7d, txns_30d, sum_30d = spend or ("0", "0", "0", "0")
    return CustomerCold(
        _opt(mean_30d), _opt(mean_90d), int(txns), _opt(hour), _opt(concentration),
        int(txns_7d), float(sum_7d), int(txns_30d), float(sum_30d),
    )  # fmt: skip


def encode_merchant(value: MerchantCold) -> str:
    rates = [
        f"{r.txns},{r.known_fraud},{r.scope_txns},{r.scope_known_fraud}" for _, r in value.rates
    ]
    return ",".join([f"{value.txns_28d},{value.known_fraud_28d}", *rates])


def decode_merchant(text: str) -> MerchantCold:
    """An entry without the windowed rates (published before them) has none."""
    if not text:
        return MerchantCold()
    txns, fraud, *rest = (int(part) for part in text.split(","))
    rates = tuple(
        (window, WindowRate(*rest[4 * i : 4 * i + 4]))
        for i, window in enumerate(MERCHANT_RATE_WINDOWS)
        if len(rest) >= 4 * i + 4
    )
    return MerchantCold(txns, fraud, rates)


def decode(as_of: str, customer: str, merchant: str, device: str, ip: str) -> ColdValues | None:
    """The store's answer → values; None when no generation was ever published."""
    if not as_of:
        return None
    return ColdValues(
        as_of=float(as_of),
        customer=decode_customer(customer),
        merchant=decode_merchant(merchant),
        device_customers_30d=int(device) if device else 0,
        ip_customers_30d=int(ip) if ip else 0,
    )


# --- the one definition --------------------------------------------------------------------


@dataclass
class _Hours:
    """The local hours of a customer's transactions that had one, as points on the circle."""

    ts: list[float] = field(default_factory=list)
    sines: list[float] = field(default_factory=list)
    cosines: list[float] = field(default_factory=list)

    def add(self, ts: float, hour: float) -> None:
        angle = hour / 24 * 2 * math.pi
        self.ts.append(ts)
        self.sines.append(math.sin(angle))
        self.cosines.append(math.cos(angle))


@dataclass
class _Customer:
    ts: list[float] = field(default_factory=list)
    amounts: list[float] = field(default_factory=list)
    hours: _Hours = field(default_factory=_Hours)


@dataclass
class _Merchant:
    ts: list[float] = field(default_factory=list)
    # Only the labelled transactions: (occurred ts, scope, ref), in time order.
    labelled: list[tuple[float, str, str]] = field(default_factory=list)


@dataclass
class _Users:
    """Who used a device or IP address: (ts, customer), in time order."""

    ts: list[float] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)


class ColdHistory:
    """Transactions and labels, indexed per entity, answering cold values as of any moment.

    Build it from all the rows at once (any order); every answer for ``as_of`` uses only
    transactions before ``as_of`` and labels reported before it.
    """

    def __init__(
        self,
        txns: Iterable[ScopedEvent],
        labels: Iterable[ColdLabel] = (),
        *,
        priors: Mapping[tuple[str, float], Sequence[tuple[int, int]]] | None = None,
    ) -> None:
        """``priors`` gives :meth:`scope_prior` answers counted elsewhere, by (scope, as_of): a
        history of a few entities' rows (a back-fill's look-up) cannot count its integrator."""
        ordered = sorted(txns, key=lambda t: (t.event.ts, t.event.ref))
        self._customers: dict[tuple[str, str], _Customer] = {}
        self._merchants: dict[tuple[str, str], _Merchant] = {}
        # Every payment of an integrator, as one merchant: the prior of the fraud rates.
        self._scopes: dict[str, _Merchant] = {}
        self._users: dict[tuple[str, str, str], _Users] = {}
        self._labels: dict[tuple[str, str], list[tuple[float, bool]]] = {}
        for label in sorted(labels, key=lambda lb: lb.reported_at):
            self._labels.setdefault((label.scope, label.ref), []).append(
                (label.reported_at, label.fraud)
            )
        for scope, event in ordered:
            self._add(scope, event)
        self._label_times = {ref: [at for at, _ in seq] for ref, seq in self._labels.items()}
        self._memo: dict[tuple[str, str, str, float], str] = {}
        self._scope_memo: dict[tuple[str, float], list[tuple[int, int]]] = {
            key: list(counts) for key, counts in (priors or {}).items()
        }

    def _add(self, scope: str, txn: Event) -> None:
        customer = self._customers.setdefault((scope, txn.customer_id), _Customer())
        customer.ts.append(txn.ts)
        customer.amounts.append(txn.amount)
        if txn.local_hour is not None:
            customer.hours.add(txn.ts, txn.local_hour)
        labelled = (scope, txn.ref) in self._labels
        for merchant in (
            self._merchants.setdefault((scope, txn.merchant_id), _Merchant()),
            self._scopes.setdefault(scope, _Merchant()),
        ):
            merchant.ts.append(txn.ts)
            if labelled:
                merchant.labelled.append((txn.ts, scope, txn.ref))
        for kind, entity_id in ((DEVICE, txn.device_id), (IP, txn.ip)):
            if entity_id is not None:
                users = self._users.setdefault((kind, scope, entity_id), _Users())
                users.ts.append(txn.ts)
                users.customers.append(txn.customer_id)

    # -- answers --

    def entry(self, kind: str, scope: str, entity_id: str | None, as_of: float) -> str:
        """The encoded value of one entity as of ``as_of`` ('' when it has no history)."""
        if entity_id is None:
            return ""
        memo_key = (kind, scope, entity_id, as_of)
        cached = self._memo.get(memo_key)
        if cached is None:
            cached = self._memo[memo_key] = self._compute(kind, scope, entity_id, as_of)
        return cached

    def _compute(self, kind: str, scope: str, entity_id: str, as_of: float) -> str:
        if kind == CUSTOMER:
            customer = self._customers.get((scope, entity_id))
            return "" if customer is None else _customer_value(customer, as_of)
        if kind == MERCHANT:
            merchant = self._merchants.get((scope, entity_id))
            return "" if merchant is None else self._merchant_value(scope, merchant, as_of)
        users = self._users.get((kind, scope, entity_id))
        return "" if users is None else _users_value(users, as_of)

    def values(
        self,
        scope: str,
        *,
        customer_id: str,
        merchant_id: str,
        device_id: str | None,
        ip: str | None,
        as_of: float,
    ) -> ColdValues:
        """What a store holding the generation ``as_of`` answers for one event's entities."""
        found = decode(
            repr(as_of),
            self.entry(CUSTOMER, scope, customer_id, as_of),
            self.entry(MERCHANT, scope, merchant_id, as_of),
            self.entry(DEVICE, scope, device_id, as_of),
            self.entry(IP, scope, ip, as_of),
        )
        assert found is not None
        return found

    def entries(self, as_of: float) -> Iterator[tuple[str, str]]:
        """Every entity with history in its window before ``as_of``: (entry key, value)."""
        sources: list[tuple[str, Iterable[tuple[str, str]]]] = [
            (CUSTOMER, self._customers),
            (MERCHANT, self._merchants),
            *((kind, [(s, e) for k, s, e in self._users if k == kind]) for kind in (DEVICE, IP)),
        ]
        for kind, keys in sources:
            for scope, entity_id in keys:
                value = self.entry(kind, scope, entity_id, as_of)
                if value:
                    yield entry_key(kind, scope, entity_id), value

    def _fraud_known(self, scope: str, ref: str, as_of: float) -> bool:
        """The latest label of the transaction reported before ``as_of`` says fraud."""
        times = self._label_times[(scope, ref)]
        i = bisect.bisect_left(times, as_of)
        return i > 0 and self._labels[(scope, ref)][i - 1][1]

    def _counts(self, merchant: _Merchant, window: float, as_of: float) -> tuple[int, int]:
        """(payments, known frauds) of ``merchant`` that occurred in [as_of - window, as_of)."""
        lo = bisect.bisect_left(merchant.ts, as_of - window)
        hi = bisect.bisect_left(merchant.ts, as_of)
        start = bisect.bisect_left(merchant.labelled, (as_of - window,))
        stop = bisect.bisect_left(merchant.labelled, (as_of,))
        fraud = sum(
            1
            for _, scope, ref in merchant.labelled[start:stop]
            if self._fraud_known(scope, ref, as_of)
        )
        return hi - lo, fraud

    def scope_prior(self, scope: str, as_of: float) -> list[tuple[int, int]]:
        """(payments, known frauds) of all the integrator's merchants together, per
        ``MERCHANT_RATE_WINDOWS``: the prior the merchants' fraud rates are smoothed toward."""
        return self._scope_counts(scope, as_of)

    def _scope_counts(self, scope: str, as_of: float) -> list[tuple[int, int]]:
        key = (scope, as_of)
        if key not in self._scope_memo:
            everything = self._scopes.get(scope, _Merchant())
            self._scope_memo[key] = [
                self._counts(everything, window, as_of) for window in MERCHANT_RATE_WINDOWS.values()
            ]
        return self._scope_memo[key]

    def _merchant_value(self, scope: str, merchant: _Merchant, as_of: float) -> str:
        longest = max(MERCHANT_WINDOW, *MERCHANT_RATE_WINDOWS.values())
        if not self._counts_any(merchant, longest, as_of):
            return ""
        txns, fraud = self._counts(merchant, MERCHANT_WINDOW, as_of)
        rates = tuple(
            (name, WindowRate(*self._counts(merchant, window, as_of), *prior))
            for (name, window), prior in zip(
                MERCHANT_RATE_WINDOWS.items(), self._scope_counts(scope, as_of), strict=True
            )
        )
        return encode_merchant(MerchantCold(txns, fraud, rates))

    @staticmethod
    def _counts_any(merchant: _Merchant, window: float, as_of: float) -> bool:
        lo = bisect.bisect_left(merchant.ts, as_of - window)
        return bisect.bisect_left(merchant.ts, as_of) > lo


def _customer_value(customer: _Customer, as_of: float) -> str:
    hi = bisect.bisect_left(customer.ts, as_of)
    lo_long = bisect.bisect_left(customer.ts, as_of - CUSTOMER_LONG_WINDOW)
    if hi == lo_long:
        return ""
    lo_short = bisect.bisect_left(customer.ts, as_of - CUSTOMER_SHORT_WINDOW)
    lo_7d = bisect.bisect_left(customer.ts, as_of - CUSTOMER_SPEND_WINDOWS["7d"])
    hours = customer.hours
    h_hi = bisect.bisect_left(hours.ts, as_of)
    h_lo = bisect.bisect_left(hours.ts, as_of - CUSTOMER_LONG_WINDOW)
    typical = concentration = None
    if h_hi > h_lo:
        sin_sum = math.fsum(hours.sines[h_lo:h_hi])
        cos_sum = math.fsum(hours.cosines[h_lo:h_hi])
        typical = math.atan2(sin_sum, cos_sum) / (2 * math.pi) * 24 % 24
        concentration = math.hypot(sin_sum, cos_sum) / (h_hi - h_lo)
    return encode_customer(
        CustomerCold(
            amount_mean_30d=_mean(customer.amounts[lo_short:hi]),
            amount_mean_90d=_mean(customer.amounts[lo_long:hi]),
            txns_90d=hi - lo_long,
            typical_hour=typical,
            hour_concentration=concentration,
            txns_7d=hi - lo_7d,
            amount_sum_7d=math.fsum(customer.amounts[lo_7d:hi]),
            txns_30d=hi - lo_short,
            amount_sum_30d=math.fsum(customer.amounts[lo_short:hi]),
        )
    )


def _users_value(users: _Users, as_of: float) -> str:
    lo = bisect.bisect_left(users.ts, as_of - SEEN_WINDOW)
    hi = bisect.bisect_left(users.ts, as_of)
    return str(len(set(users.customers[lo:hi]))) if hi > lo else ""


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def hours_apart(a: float, b: float) -> float:
    """Distance between two times of day on the 24-hour circle (0..12)."""
    d = abs(a - b) % 24
    return min(d, 24 - d)


__all__ = [
    "ColdHistory",
    "ColdLabel",
    "ColdValues",
    "ScopedEvent",
    "WindowRate",
    "as_of_for",
    "decode",
    "hours_apart",
]
