"""One simulated population and the ways its people pay (pure, deterministic for a seed).

Both the history (``simulation_history``) and the live traffic (``simulation``) are drawn from
the same :class:`Population`, built from the same seed, and emitted by the same
:class:`Patterns`: live payments come from customers, cards, devices and merchants the history
already knows, with the same habits, so a live decision reads like one on a known customer.

Customers have their own spending habits: a home country and time zone, one or two devices,
favourite merchants, a typical amount and hour, known payees for transfers.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

HOME_COUNTRIES: dict[str, int] = {"DE": 1, "FR": 1, "NL": 1, "ES": 1, "IT": 1, "GB": 0, "PL": 1}
FAR_COUNTRIES = ["NG", "BR", "VN", "ID", "RU", "US"]
EVERYDAY_CATEGORIES = ["5411", "5812", "5999", "4121", "5541"]
CASH_OUT_CATEGORIES = ["5732", "5944", "7995"]
DEFAULT_MERCHANTS = 300
# The share of everyday payments that are a legitimate big purchase.
BIG_PURCHASE_SHARE = 0.04
# How often each fraud pattern starts, per day, whatever the population's size (a mule
# fan-in is one payee and many payers).
FRAUD_PER_DAY: dict[str, float] = {
    "card_testing": 1.0,
    "account_takeover": 3.0,
    "stolen_card": 3.0,
    "friendly_fraud": 3.0,
    "mule_fan_in": 1 / 3,
}
# The pattern ``simulate --drift DATE`` starts at DATE (none of the history before it looks
# like it), and how many bursts of it start per day: a wave large enough that a drift check
# sees it in a day's decisions.
DRIFT_PATTERN = "gift_card_burst"
DRIFT_PER_DAY = 12.0
# Where the wave cashes out: merchants the history never saw, selling gift cards.
DRIFT_MERCHANTS = tuple(f"m-gift-{i:02d}" for i in range(6))
DRIFT_CATEGORY = "5815"


@dataclass(frozen=True)
class Label:
    label: str  # "fraud" | "legit"
    source: str  # "chargeback" | "analyst" | "integrator"
    reported_at: datetime


@dataclass(frozen=True)
class HistoricalTransaction:
    pattern: str
    is_fraud: bool
    occurred_at: datetime
    payload: dict[str, Any]
    label: Label | None


@dataclass
class Profile:
    id: str
    card_id: str
    devices: list[str]
    country: str
    tz: timezone
    ip: str
    email: str
    typical_amount: float
    typical_hour: float
    per_day: float
    merchants: list[str]
    payees: list[str] = field(default_factory=list)


class Population:
    """Customers and merchants; the same for the same seed, sizes and drawing order."""

    def __init__(self, rng: random.Random, *, customers: int, merchants: int) -> None:
        self.merchants = [f"m-{i:04d}" for i in range(merchants)]
        # A few merchants where fraudsters cash out (electronics, jewellery, gambling).
        self.cash_out = self.merchants[:8]
        self.everyday = self.merchants[8:]
        self.category = {
            m: rng.choice(CASH_OUT_CATEGORIES if m in self.cash_out else EVERYDAY_CATEGORIES)
            for m in self.merchants
        }
        self.customers = [self._profile(rng, i) for i in range(customers)]

    @classmethod
    def of_seed(
        cls, seed: int, *, customers: int, merchants: int = DEFAULT_MERCHANTS
    ) -> Population:
        return cls(random.Random(seed), customers=customers, merchants=merchants)

    def _profile(self, rng: random.Random, i: int) -> Profile:
        country = rng.choice(list(HOME_COUNTRIES))
        return Profile(
            id=f"c-{i:05d}",
            card_id=f"card-{i:05d}",
            devices=[f"dev-{i:05d}-{k}" for k in range(rng.choice([1, 1, 2]))],
            country=country,
            tz=timezone(timedelta(hours=HOME_COUNTRIES[country])),
            ip=f"198.51.{i // 200}.{i % 200 + 1}",
            email=f"customer{i}@example.com",
            typical_amount=round(rng.lognormvariate(3.4, 0.7), 2),
            typical_hour=rng.gauss(14, 3),
            per_day=rng.uniform(0.5, 3.0),
            merchants=rng.sample(self.everyday, 8),
            payees=[f"payee-{i:05d}-{k}" for k in range(rng.choice([0, 1, 2]))],
        )


class Patterns:
    """Everyday spending and the fraud patterns, appended to ``out`` at the times given.

    - card testing: a bot tries a card for tiny amounts several times within a minute;
    - account takeover: a new device in a new country, a high amount;
    - stolen card: used at night, far from home, at a cash-out merchant;
    - mule fan-in: many scammed customers pay one new payee;
    - ordinary-looking fraud (friendly fraud): indistinguishable from the customer's habits;

    and, among everyday payments, a legitimate big purchase now and then: the false alarms.
    """

    def __init__(self, population: Population, rng: random.Random, *, tag: str) -> None:
        self.population = population
        self._rng = rng
        self._ids = itertools.count(1)
        self._tag = tag
        self.out: list[HistoricalTransaction] = []

    def emit(
        self, pattern: str, customer: Profile, at: datetime, *, fraud: bool, **overrides: Any
    ) -> None:
        rng = self._rng
        amount = max(1.0, rng.lognormvariate(math.log(customer.typical_amount), 0.35))
        merchant = overrides.pop("merchant_id", rng.choice(customer.merchants))
        local = at.astimezone(customer.tz)
        payload: dict[str, Any] = {
            "transaction_id": f"{self._tag}-{next(self._ids)}",
            "occurred_at": local.isoformat(),
            "amount": f"{amount:.2f}",
            "currency": "EUR",
            "customer_id": customer.id,
            "merchant_id": merchant,
            "merchant_category": self.population.category.get(merchant, "6012"),
            "channel": rng.choice(["ecom", "ecom", "pos", "wallet"]),
            "card_id": customer.card_id,
            "country": customer.country,
            "ip": customer.ip,
            "device_id": rng.choice(customer.devices),
            "email": customer.email,
        }
        payload.update(overrides)
        payload = {k: v for k, v in payload.items() if v is not None}
        self.out.append(HistoricalTransaction(pattern, fraud, at, payload, self._label(at, fraud)))

    def _label(self, at: datetime, fraud: bool) -> Label | None:
        """A fraud's chargeback, days to weeks later; nothing for a legitimate payment: issuers
        never confirm one (it counts as legit once its maturity has passed)."""
        rng = self._rng
        if fraud:
            delay = timedelta(days=min(90.0, rng.lognormvariate(math.log(18), 0.6)))
            return Label("fraud", "chargeback", at + delay)
        # Drawn all the same, so that a seed gives the same payments as before.
        rng.uniform(5, 10)
        return None

    def at_usual_hour(self, customer: Profile, day: datetime) -> datetime:
        hour = min(23.99, max(0.0, self._rng.gauss(customer.typical_hour, 2.5)))
        local_midnight = day.astimezone(customer.tz).replace(hour=0, minute=0, second=0)
        return local_midnight + timedelta(hours=hour)

    def normal(self, customer: Profile, at: datetime) -> None:
        rng = self._rng
        roll = rng.random()
        if customer.payees and roll < 0.08:
            payee = rng.choice(customer.payees)
            self.emit("normal", customer, at, fraud=False, channel="transfer", payee_id=payee)
        elif roll > 1 - BIG_PURCHASE_SHARE:
            # The payments that keep a fraud team busy: legitimate, but far above the
            # customer's habit (a laptop, a holiday), from their own device, at home.
            amount = customer.typical_amount * rng.uniform(6, 18)
            self.emit("big_purchase", customer, at, fraud=False, amount=f"{amount:.2f}")
        else:
            self.emit("normal", customer, at, fraud=False)

    def card_testing(self, day: datetime, *, within_hours: float) -> None:
        rng = self._rng
        victim = rng.choice(self.population.customers)
        at = day + timedelta(hours=rng.uniform(0, within_hours))
        bot = f"bot-{rng.randrange(10**6)}"
        for _ in range(rng.randint(5, 10)):
            at += timedelta(seconds=rng.uniform(2, 9))
            self.emit(
                "card_testing", victim, at, fraud=True,
                amount=f"{rng.uniform(0.5, 2.0):.2f}",
                merchant_id=rng.choice(self.population.merchants),
                channel="ecom", device_id=bot, ip=f"192.0.2.{rng.randrange(1, 255)}",
                country=None, email=None,
            )  # fmt: skip

    def account_takeover(self, victim: Profile, at: datetime) -> None:
        rng = self._rng
        self.emit(
            "account_takeover", victim, at, fraud=True,
            amount=f"{victim.typical_amount * rng.uniform(6, 25):.2f}",
            device_id=f"ato-{rng.randrange(10**6)}", country=rng.choice(FAR_COUNTRIES),
            ip=f"203.0.113.{rng.randrange(1, 255)}", channel="ecom",
            merchant_id=rng.choice(self.population.cash_out),
        )  # fmt: skip

    def stolen_card(self, victim: Profile, at: datetime, pattern: str = "stolen_card") -> None:
        rng = self._rng
        self.emit(
            pattern, victim, at, fraud=True,
            amount=f"{victim.typical_amount * rng.uniform(2, 10):.2f}",
            merchant_id=rng.choice(self.population.cash_out), channel="pos",
            country=rng.choice(FAR_COUNTRIES), device_id=None, ip=None, email=None,
        )  # fmt: skip

    def night_of(self, victim: Profile, at: datetime) -> datetime:
        rng = self._rng
        return at.astimezone(victim.tz).replace(hour=rng.randrange(0, 5), minute=rng.randrange(60))

    def gift_card_burst(self, victim: Profile, day: datetime) -> None:
        """The drift pattern: a phished card added to a wallet buys gift cards in a burst, in
        the victim's own country, early in their morning; mid-size round amounts at merchants
        nobody used before. The wallet's token is a device never seen — the one thing an older
        pattern (account takeover) taught a model to notice, so the model's scores rise a
        little; nothing else it learned (a far country, a cash-out merchant, night) is there."""
        rng = self._rng
        local_day = day.astimezone(victim.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        at = local_day + timedelta(hours=rng.uniform(5, 8))
        merchant = rng.choice(DRIFT_MERCHANTS)
        token = f"wallet-{rng.randrange(10**6)}"
        for _ in range(rng.randint(3, 6)):
            at += timedelta(minutes=rng.uniform(2, 15))
            self.emit(
                DRIFT_PATTERN, victim, at, fraud=True,
                amount=f"{rng.choice((50, 100, 150, 200)):.2f}", merchant_id=merchant,
                merchant_category=DRIFT_CATEGORY, channel="wallet", device_id=token,
            )  # fmt: skip

    def friendly_fraud(self, customer: Profile, at: datetime) -> None:
        self.emit("friendly_fraud", customer, at, fraud=True)

    def mule_fan_in(self, day: datetime, *, within_hours: float, spread_hours: float) -> None:
        rng = self._rng
        mule = f"payee-mule-{rng.randrange(10**6)}"
        start = day + timedelta(hours=rng.uniform(0, within_hours))
        for payer in rng.sample(self.population.customers, rng.randint(6, 14)):
            at = start + timedelta(hours=rng.uniform(0, spread_hours))
            self.emit(
                "mule_fan_in", payer, at, fraud=True, channel="transfer", payee_id=mule,
                amount=f"{rng.uniform(200, 1500):.2f}", merchant_id="m-transfers",
            )  # fmt: skip
