"""A realistic history of payments, fraud and delayed labels (pure, deterministic for a seed).

Customers have their own spending habits: a home country and time zone, one or two devices,
favourite merchants, a typical amount and hour, known payees for transfers. Fraud comes in the
patterns a fraud team sees, plus a share that looks ordinary, so no model can be perfect:

- card testing: a bot tries a card for tiny amounts several times within a minute;
- account takeover: a new device in a new country, a high amount;
- compromised merchant: every card used there during the breach is later used by fraudsters;
- stolen card: used at night, far from home, at a cash-out merchant;
- mule fan-in: many scammed customers pay one new payee within a day;
- ordinary-looking fraud (friendly fraud): indistinguishable from the customer's habits.

Labels arrive late: chargebacks days to weeks after the fraud, confirmations of legitimate
payments after about a week. A label whose time has not come by ``end`` is not produced.
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


@dataclass(frozen=True)
class Label:
    label: str  # "fraud" | "legit"
    source: str  # "chargeback" | "integrator"
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


class HistorySimulator:
    def __init__(self, *, seed: int = 7, customers: int = 1000, merchants: int = 300) -> None:
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._tag = f"h{seed}"
        self.merchants = [f"m-{i:04d}" for i in range(merchants)]
        # A few merchants where fraudsters cash out (electronics, jewellery, gambling).
        self.cash_out = self.merchants[:8]
        self.everyday = self.merchants[8:]
        self.category = {
            m: self._rng.choice(CASH_OUT_CATEGORIES if m in self.cash_out else EVERYDAY_CATEGORIES)
            for m in self.merchants
        }
        self.customers = [self._profile(i) for i in range(customers)]
        self._out: list[HistoricalTransaction] = []

    # --- population ------------------------------------------------------------------------

    def _profile(self, i: int) -> Profile:
        rng = self._rng
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

    # --- the history -----------------------------------------------------------------------

    def generate(self, *, start: datetime, days: int) -> list[HistoricalTransaction]:
        """Every transaction from ``start`` for ``days`` days, in time order."""
        end = start + timedelta(days=days)
        self._out = []
        breaches: list[tuple[str, datetime]] = []
        for day in range(days):
            day_start = start + timedelta(days=day)
            breach = self._daily(day_start)
            if breach:
                breaches.append(breach)
        self._compromised_cards_go_bad(breaches, end)
        history = [t for t in self._out if start <= t.occurred_at < end]
        history.sort(key=lambda t: t.occurred_at)
        return [self._with_label_known_by(t, end) for t in history]

    def _daily(self, day: datetime) -> tuple[str, datetime] | None:
        rng = self._rng
        for customer in self.customers:
            for _ in range(_poisson(rng, customer.per_day)):
                self._normal(customer, day)
        for _ in range(_poisson(rng, 1.0)):
            self._card_testing(day)
        for _ in range(_poisson(rng, 3.0)):
            self._account_takeover(day)
        for _ in range(_poisson(rng, 3.0)):
            self._stolen_card(rng.choice(self.customers), day + timedelta(hours=rng.uniform(0, 24)))
        for _ in range(_poisson(rng, 3.0)):
            self._friendly_fraud(day)
        if rng.random() < 1 / 3:
            self._mule_fan_in(day)
        if rng.random() < 1 / 10:
            return rng.choice(self.everyday), day
        return None

    def _emit(
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
            "merchant_category": self.category.get(merchant, "6012"),
            "channel": rng.choice(["ecom", "ecom", "pos", "wallet"]),
            "card_id": customer.card_id,
            "country": customer.country,
            "ip": customer.ip,
            "device_id": rng.choice(customer.devices),
            "email": customer.email,
        }
        payload.update(overrides)
        payload = {k: v for k, v in payload.items() if v is not None}
        self._out.append(HistoricalTransaction(pattern, fraud, at, payload, self._label(at, fraud)))

    def _label(self, at: datetime, fraud: bool) -> Label:
        rng = self._rng
        if fraud:
            delay = timedelta(days=min(90.0, rng.lognormvariate(math.log(18), 0.6)))
            return Label("fraud", "chargeback", at + delay)
        return Label("legit", "integrator", at + timedelta(days=rng.uniform(5, 10)))

    def _with_label_known_by(
        self, t: HistoricalTransaction, end: datetime
    ) -> HistoricalTransaction:
        if t.label is None or t.label.reported_at < end:
            return t
        return HistoricalTransaction(t.pattern, t.is_fraud, t.occurred_at, t.payload, None)

    def _at_usual_hour(self, customer: Profile, day: datetime) -> datetime:
        hour = min(23.99, max(0.0, self._rng.gauss(customer.typical_hour, 2.5)))
        local_midnight = day.astimezone(customer.tz).replace(hour=0, minute=0, second=0)
        return local_midnight + timedelta(hours=hour)

    def _normal(self, customer: Profile, day: datetime) -> None:
        at = self._at_usual_hour(customer, day)
        if customer.payees and self._rng.random() < 0.08:
            payee = self._rng.choice(customer.payees)
            self._emit("normal", customer, at, fraud=False, channel="transfer", payee_id=payee)
        else:
            self._emit("normal", customer, at, fraud=False)

    def _card_testing(self, day: datetime) -> None:
        rng = self._rng
        victim = rng.choice(self.customers)
        at = day + timedelta(hours=rng.uniform(0, 24))
        bot = f"bot-{rng.randrange(10**6)}"
        for _ in range(rng.randint(5, 10)):
            at += timedelta(seconds=rng.uniform(2, 9))
            self._emit(
                "card_testing", victim, at, fraud=True,
                amount=f"{rng.uniform(0.5, 2.0):.2f}", merchant_id=rng.choice(self.merchants),
                channel="ecom", device_id=bot, ip=f"192.0.2.{rng.randrange(1, 255)}",
                country=None, email=None,
            )  # fmt: skip

    def _account_takeover(self, day: datetime) -> None:
        rng = self._rng
        victim = rng.choice(self.customers)
        at = self._at_usual_hour(victim, day)
        self._emit(
            "account_takeover", victim, at, fraud=True,
            amount=f"{victim.typical_amount * rng.uniform(6, 25):.2f}",
            device_id=f"ato-{rng.randrange(10**6)}", country=rng.choice(FAR_COUNTRIES),
            ip=f"203.0.113.{rng.randrange(1, 255)}", channel="ecom",
            merchant_id=rng.choice(self.cash_out),
        )  # fmt: skip

    def _stolen_card(self, victim: Profile, at: datetime, pattern: str = "stolen_card") -> None:
        rng = self._rng
        night = at.astimezone(victim.tz).replace(hour=rng.randrange(0, 5), minute=rng.randrange(60))
        self._emit(
            pattern, victim, night, fraud=True,
            amount=f"{victim.typical_amount * rng.uniform(2, 10):.2f}",
            merchant_id=rng.choice(self.cash_out), channel="pos",
            country=rng.choice(FAR_COUNTRIES), device_id=None, ip=None, email=None,
        )  # fmt: skip

    def _friendly_fraud(self, day: datetime) -> None:
        customer = self._rng.choice(self.customers)
        self._emit("friendly_fraud", customer, self._at_usual_hour(customer, day), fraud=True)

    def _mule_fan_in(self, day: datetime) -> None:
        rng = self._rng
        mule = f"payee-mule-{rng.randrange(10**6)}"
        start = day + timedelta(hours=rng.uniform(0, 12))
        for payer in rng.sample(self.customers, rng.randint(6, 14)):
            at = start + timedelta(hours=rng.uniform(0, 20))
            self._emit(
                "mule_fan_in", payer, at, fraud=True, channel="transfer", payee_id=mule,
                amount=f"{rng.uniform(200, 1500):.2f}", merchant_id="m-transfers",
            )  # fmt: skip

    def _compromised_cards_go_bad(
        self, breaches: list[tuple[str, datetime]], end: datetime
    ) -> None:
        """Every card used at a breached merchant during the breach is later defrauded."""
        rng = self._rng
        by_id = {c.id: c for c in self.customers}
        for merchant, since in breaches:
            until = since + timedelta(days=2)
            victims = {
                t.payload["customer_id"]
                for t in self._out
                if t.payload["merchant_id"] == merchant and since <= t.occurred_at < until
            }
            for customer_id in sorted(victims):
                later = until + timedelta(days=rng.uniform(1, 10))
                if later < end:
                    self._stolen_card(by_id[customer_id], later, "compromised_merchant")


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
