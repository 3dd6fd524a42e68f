"""A simulated history back-filled as an integrator does it: posted through the API in time
order with its past timestamps, each label posted once its ``reported_at`` has come."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scoring.simulation.history import HistoricalTransaction, HistorySimulator

# Fixed dates, whatever day the suite runs (tests lift the API's back-fill window for them).
START = datetime(2026, 3, 2, tzinfo=UTC)
PERIOD = 6 * 3600


@dataclass(frozen=True, order=True)
class PostedLabel:
    reported_at: datetime
    transaction_id: str
    label: str
    source: str

    def body(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "label": self.label,
            "source": self.source,
            "reported_at": self.reported_at.isoformat(),
        }


def simulated(days: int = 3, customers: int = 30, seed: int = 5) -> list[HistoricalTransaction]:
    return HistorySimulator(seed=seed, customers=customers).generate(start=START, days=days)


def labels_of(history: list[HistoricalTransaction]) -> list[PostedLabel]:
    """A chargeback 3 hours after each fraud; an integrator's "legit" 5 hours after every
    seventh other payment."""
    labels = []
    for i, txn in enumerate(history):
        txn_id = txn.payload["transaction_id"]
        if txn.is_fraud:
            labels.append(
                PostedLabel(txn.occurred_at + timedelta(hours=3), txn_id, "fraud", "chargeback")
            )
        elif i % 7 == 0:
            labels.append(
                PostedLabel(txn.occurred_at + timedelta(hours=5), txn_id, "legit", "integrator")
            )
    return sorted(labels)


def post_in_time_order(api, history: list[HistoricalTransaction], labels: list[PostedLabel]):
    """Each transaction posted in turn; before it, every label reported by its time."""
    waiting = list(labels)
    heapq.heapify(waiting)
    for txn in history:
        while waiting and waiting[0].reported_at <= txn.occurred_at:
            response = api.post("/api/v1/labels", heapq.heappop(waiting).body(), format="json")
            assert response.status_code == 201, response.content
        response = api.post("/api/v1/decisions", txn.payload, format="json")
        assert response.status_code == 201, response.content
    for label in waiting:
        response = api.post("/api/v1/labels", label.body(), format="json")
        assert response.status_code == 201, response.content
