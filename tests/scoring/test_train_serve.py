"""One feature definition: what a live decision saw is what training replays."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from rules.demo import demo_policy_seed
from rules.loader import current_policy
from scoring.models import Decision
from scoring.replay import replay, transactions_in_time_order
from scoring.simulation_history import HistorySimulator

pytestmark = pytest.mark.django_db


def test_features_at_decision_time_equal_the_training_replay(api):
    demo_policy_seed()
    start = (timezone.now() - timedelta(days=4)).astimezone(UTC)
    history = HistorySimulator(seed=5, customers=40).generate(start=start, days=3)
    assert len(history) > 100
    for txn in history:
        response = api.post("/api/v1/decisions", txn.payload, format="json")
        assert response.status_code == 201, response.content

    replayed = {
        r.transaction.transaction_id: r.result.features
        for r in replay(transactions_in_time_order(), policy=current_policy())
    }

    live = dict(Decision.objects.values_list("transaction__transaction_id", "features"))
    assert live.keys() == replayed.keys()
    mismatched = [t for t in live if live[t] != replayed[t]]
    assert not mismatched, (mismatched[:3], live[mismatched[0]], replayed[mismatched[0]])
    assert any(f["payee_distinct_payers_24h"] for f in live.values())
    assert any(f["device_new_for_customer"] == 0.0 for f in live.values())
