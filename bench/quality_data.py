"""The model quality benchmark's data (``bench/model_quality.py``): the simulated payments, where
history ends, and who knows which chargeback when."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scoring.simulation.history import HistoricalTransaction, HistorySimulator

# The simulator's customers pay 0.5 to 3 times a day (uniformly): 1.75 on average. With the
# fraud patterns' fixed daily rates, this sizes the population for a number of payments.
PAYMENTS_PER_CUSTOMER_DAY = 1.75

# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """The simulated payments in time order, where history ends, and who knows what when."""

    seed: int
    customers: int
    payments: list[HistoricalTransaction]
    split: datetime  # history before it, live from it; training happens at this moment
    end: datetime

    @property
    def history(self) -> list[HistoricalTransaction]:
        return [t for t in self.payments if t.occurred_at < self.split]

    @property
    def live(self) -> list[HistoricalTransaction]:
        return [t for t in self.payments if t.occurred_at >= self.split]

    def chargeback_at(self, t: HistoricalTransaction) -> datetime | None:
        """When the fraud's chargeback was reported, if before the split (else unknown)."""
        label = t.label
        if not t.is_fraud or label is None or label.label != "fraud":
            return None
        if label.source != "chargeback" or label.reported_at >= self.split:
            return None
        return label.reported_at


def scenario_build(args: argparse.Namespace) -> Scenario:
    days = args.history_days + args.live_days
    customers = max(20, round(args.size / (days * PAYMENTS_PER_CUSTOMER_DAY)))
    # Ends at the start of today (UTC): every timestamp is in the past, as the API requires,
    # and a seed gives the same payments whatever the day (only the dates move).
    end = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    simulator = HistorySimulator(seed=args.seed, customers=customers)
    payments = simulator.generate(start=end - timedelta(days=days), days=days)
    return Scenario(args.seed, customers, payments, end - timedelta(days=args.live_days), end)
