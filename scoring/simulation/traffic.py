"""Simulated live traffic from the history's population (pure, deterministic for a seed and run).

The customers, cards, devices and merchants are the ones the history (``simulation_history``)
was drawn from: the same :class:`~scoring.simulation.population.Population` for the same seed
and size, and the same :class:`~scoring.simulation.population.Patterns` emit the payments. A
live payment is therefore one of a known customer, on their card, from one of their devices,
at one of their favourite merchants, for about their usual amount; the fraud patterns are the
history's (card testing, account takeover, stolen card, friendly fraud, mule fan-in), in the
history's proportions times ``fraud_boost``.

Each run has its own transaction ids (``live-<run>-<n>``), so a second run is new traffic, not
a replay of the first.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scoring.simulation.population import (
    DRIFT_PATTERN,
    DRIFT_PER_DAY,
    FRAUD_PER_DAY,
    Patterns,
    Population,
)

# The demo shows more fraud than a real day has, so that a few minutes show every pattern.
DEFAULT_FRAUD_BOOST = 3.0


@dataclass(frozen=True)
class SimulatedTransaction:
    pattern: str  # "normal", "big_purchase" (legitimate) or one of FRAUD_PER_DAY
    payload: dict[str, Any]

    def stamp(self, now: datetime) -> None:
        """Set ``occurred_at`` to ``now``, in the customer's own offset (their local time)."""
        offset = datetime.fromisoformat(self.payload["occurred_at"]).tzinfo
        self.payload["occurred_at"] = now.astimezone(offset).isoformat()


class TrafficSimulator:
    def __init__(
        self,
        *,
        seed: int = 7,
        customers: int = 1000,
        run: str | None = None,
        fraud_boost: float = DEFAULT_FRAUD_BOOST,
        drift_at: datetime | None = None,
    ) -> None:
        """``drift_at``: from then on the drift pattern (``Patterns.gift_card_burst``) joins the
        others, as in the history."""
        self.drift_at = drift_at
        self.population = Population.of_seed(seed, customers=customers)
        self.run = run or secrets.token_hex(4)
        self._rng = random.Random(f"{seed}:{self.run}")
        self._patterns = Patterns(self.population, self._rng, tag=f"live-{self.run}")
        # A customer who pays three times a day is six times as likely as one who pays twice a
        # week to be the next payer, as in the history.
        self._by_habit = list(itertools.accumulate(c.per_day for c in self.population.customers))
        # One draw picks what happens next, weighted by how often it happens in a day.
        self._kinds = ["normal", *FRAUD_PER_DAY]
        self._kind_weights = list(
            itertools.accumulate(
                [self._by_habit[-1], *(n * fraud_boost for n in FRAUD_PER_DAY.values())]
            )
        )
        self._drifted_kinds = [*self._kinds, DRIFT_PATTERN]
        self._drifted_weights = [*self._kind_weights, self._kind_weights[-1] + DRIFT_PER_DAY]

    def stream(self, start: datetime, *, rate: float) -> Iterator[SimulatedTransaction]:
        """An endless stream, about ``rate`` transactions per second of simulated time."""
        now = start
        pending: list[SimulatedTransaction] = []
        while True:
            if not pending:
                pending = self._next_batch(now)
            txn = pending.pop(0)
            now += timedelta(seconds=self._rng.expovariate(rate))
            txn.stamp(now)
            yield txn

    def _next_batch(self, now: datetime) -> list[SimulatedTransaction]:
        rng, patterns = self._rng, self._patterns
        if self.drift_at is not None and now >= self.drift_at:
            kind = rng.choices(self._drifted_kinds, cum_weights=self._drifted_weights)[0]
        else:
            kind = rng.choices(self._kinds, cum_weights=self._kind_weights)[0]
        customer = rng.choices(self.population.customers, cum_weights=self._by_habit)[0]
        patterns.out = []
        if kind == "normal":
            patterns.normal(customer, now)
        elif kind == "card_testing":
            patterns.card_testing(now, within_hours=0)
        elif kind == "account_takeover":
            patterns.account_takeover(customer, now)
        elif kind == "stolen_card":
            patterns.stolen_card(customer, now)
        elif kind == "friendly_fraud":
            patterns.friendly_fraud(customer, now)
        elif kind == DRIFT_PATTERN:
            patterns.gift_card_burst(customer, now)
        else:
            patterns.mule_fan_in(now, within_hours=0, spread_hours=0)
        return [SimulatedTransaction(t.pattern, t.payload) for t in patterns.out]
