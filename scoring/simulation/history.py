"""A realistic history of payments, fraud and delayed labels (pure, deterministic for a seed).

The customers and merchants are a :class:`~scoring.simulation.population.Population`, and
their payments come from its :class:`~scoring.simulation.population.Patterns`: the live
traffic (``scoring.simulation.traffic``) draws on the same population and the same code. Fraud comes
in the patterns a fraud team sees, plus a share that looks ordinary, so no model can be
perfect; on top of the live patterns, the history has compromised merchants: every card used
there during a breach is later used by fraudsters.

Labels arrive as integrations deliver them: a chargeback for a fraud, days to weeks after it,
and nothing for a legitimate payment (it counts as legit once its maturity has passed,
``scoring.label_reads``). A label whose time has not come by ``end`` is not produced. Analysts'
verdicts on reviewed cases are added by the loader (``load.py``), which knows what was reviewed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from scoring.features.cold import ColdHistory, ColdLabel, ScopedEvent
from scoring.simulation.population import (
    DEFAULT_MERCHANTS,
    DRIFT_PER_DAY,
    FRAUD_PER_DAY,
    HistoricalTransaction,
    Label,
    Patterns,
    Population,
    Profile,
)
from scoring.transaction import TransactionFacts

__all__ = ["HistoricalTransaction", "HistorySimulator", "Label", "Profile"]


class HistorySimulator:
    """``drift_at``: from then on a new fraud pattern (``Patterns.gift_card_burst``) joins the
    others; the days before it are the same as without a drift."""

    def __init__(
        self,
        *,
        seed: int = 7,
        customers: int = 1000,
        merchants: int = DEFAULT_MERCHANTS,
        drift_at: datetime | None = None,
    ) -> None:
        self.drift_at = drift_at
        # The population is drawn first from the seed's generator, exactly as
        # ``Population.of_seed`` draws it: the live simulator rebuilds the same one.
        self._rng = random.Random(seed)
        self.population = Population(self._rng, customers=customers, merchants=merchants)
        self.customers = self.population.customers
        self.merchants = self.population.merchants
        self._patterns = Patterns(self.population, self._rng, tag=f"h{seed}")

    def generate(self, *, start: datetime, days: int) -> list[HistoricalTransaction]:
        """Every transaction from ``start`` for ``days`` days, in time order."""
        end = start + timedelta(days=days)
        self._patterns.out = []
        breaches: list[tuple[str, datetime]] = []
        for day in range(days):
            day_start = start + timedelta(days=day)
            breach = self._daily(day_start)
            if breach:
                breaches.append(breach)
        self._compromised_cards_go_bad(breaches, end)
        history = [t for t in self._patterns.out if start <= t.occurred_at < end]
        history.sort(key=lambda t: t.occurred_at)
        return [self._with_label_known_by(t, end) for t in history]

    def _daily(self, day: datetime) -> tuple[str, datetime] | None:
        rng, patterns = self._rng, self._patterns
        for customer in self.customers:
            for _ in range(_poisson(rng, customer.per_day)):
                patterns.normal(customer, patterns.at_usual_hour(customer, day))
        for _ in range(_poisson(rng, FRAUD_PER_DAY["card_testing"])):
            patterns.card_testing(day, within_hours=24)
        for _ in range(_poisson(rng, FRAUD_PER_DAY["account_takeover"])):
            victim = rng.choice(self.customers)
            patterns.account_takeover(victim, patterns.at_usual_hour(victim, day))
        for _ in range(_poisson(rng, FRAUD_PER_DAY["stolen_card"])):
            self._stolen_card(rng.choice(self.customers), day + timedelta(hours=rng.uniform(0, 24)))
        for _ in range(_poisson(rng, FRAUD_PER_DAY["friendly_fraud"])):
            customer = rng.choice(self.customers)
            patterns.friendly_fraud(customer, patterns.at_usual_hour(customer, day))
        if rng.random() < FRAUD_PER_DAY["mule_fan_in"]:
            patterns.mule_fan_in(day, within_hours=12, spread_hours=20)
        if self.drift_at is not None and day >= self.drift_at:
            # Drawn last, so the days before the drift draw exactly as without one.
            for _ in range(_poisson(rng, DRIFT_PER_DAY)):
                patterns.gift_card_burst(rng.choice(self.customers), day)
        if rng.random() < 1 / 10:
            return rng.choice(self.population.everyday), day
        return None

    def _stolen_card(self, victim: Profile, at: datetime, pattern: str = "stolen_card") -> None:
        self._patterns.stolen_card(victim, self._patterns.night_of(victim, at), pattern)

    def _with_label_known_by(
        self, t: HistoricalTransaction, end: datetime
    ) -> HistoricalTransaction:
        if t.label is None or t.label.reported_at < end:
            return t
        return HistoricalTransaction(t.pattern, t.is_fraud, t.occurred_at, t.payload, None)

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
                for t in self._patterns.out
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


def cold_history_of(
    history: Sequence[HistoricalTransaction], facts: Sequence[TransactionFacts], scope: str = "1"
) -> ColdHistory:
    """The cold history of a simulated ``history`` (its transactions as ``facts``, in the same
    order, and the labels it reported): what replays of it read their cold values from."""
    return ColdHistory(
        (ScopedEvent(scope, f.event(f.transaction_id)) for f in facts),
        (
            ColdLabel(scope, t.payload["transaction_id"], t.label.label == "fraud",
                      t.label.reported_at.timestamp())
            for t in history
            if t.label is not None
        ),
    )  # fmt: skip
