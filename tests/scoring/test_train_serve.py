"""One feature definition: what a live decision saw is what training replays."""

import heapq
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from rules.demo import demo_policy_seed
from rules.loader import current_policy
from scoring import serving
from scoring.cold_refresh import cold_features_refresh
from scoring.features.cold import as_of_for
from scoring.models import Decision
from scoring.replay import replay, transactions_in_time_order
from scoring.simulation.history import HistorySimulator
from tests import factories
from tests.scoring.backfill import labels_of, post_in_time_order, simulated

pytestmark = pytest.mark.django_db

PERIOD = 6 * 3600


def test_features_at_decision_time_equal_the_training_replay(api, settings):
    """History posted through the API in time order, with chargebacks posted as they are
    reported and a cold generation published every period (as the beat would), replays into
    exactly the features the live decisions stored, hot and cold."""
    settings.COLD_FEATURES_PERIOD_SECONDS = PERIOD
    demo_policy_seed()
    start = factories.midnight_utc(4)
    history = HistorySimulator(seed=5, customers=40).generate(start=start, days=3)
    assert len(history) > 100
    chargebacks: list[tuple[datetime, str]] = []
    published = None
    for txn in history:
        _post_labels_reported_by(api, chargebacks, txn.occurred_at)
        if published != as_of_for(txn.occurred_at.timestamp(), PERIOD):
            refreshed = cold_features_refresh(store=serving.feature_store(), now=txn.occurred_at)
            published = refreshed.as_of.timestamp()
        response = api.post("/api/v1/decisions", txn.payload, format="json")
        assert response.status_code == 201, response.content
        if txn.is_fraud:
            reported = txn.occurred_at + timedelta(hours=3)
            heapq.heappush(chargebacks, (reported, txn.payload["transaction_id"]))

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
    assert any(f["merchant_fraud_rate_28d"] for f in live.values())
    assert any(f["amount_to_customer_mean_30d"] for f in live.values())
    # The families of feature set 2: spend over days, merchant rates, time since first seen.
    assert any(f["amount_to_customer_mean_7d"] for f in live.values())
    assert any(f["customer_amount_sum_30d"] for f in live.values())
    assert any(f["merchant_fraud_lift_7d"] for f in live.values())
    assert any(f["amount_to_customer_mean_24h"] for f in live.values())
    assert any(f["card_seconds_since_first"] for f in live.values())
    assert any(f["device_seconds_since_first"] == 0.0 for f in live.values())
    assert Decision.objects.values("cold_as_of").distinct().count() >= 10


@pytest.mark.parametrize(
    "generation", [None, datetime(2026, 6, 1, tzinfo=UTC)], ids=["none-yet", "published-later"]
)
def test_a_back_fill_posted_through_the_api_gets_the_features_the_training_replay_computes(
    api, settings, generation
):
    """An integrator going live back-fills its past: months-old transactions posted in time
    order, each label once it was reported, while the current generation is today's (or
    none was published yet). Each gets the cold values of its own period, which the replay
    computes again from everything stored: the same features, hot and cold."""
    settings.COLD_FEATURES_PERIOD_SECONDS = PERIOD
    demo_policy_seed()
    if generation is not None:
        serving.feature_store().cold_publish(generation.timestamp(), [])
    history = simulated(customers=20)
    with override_settings(DECISION_MAX_AGE_DAYS=100 * 365):  # the history's fixed dates
        post_in_time_order(api, history, labels_of(history))

    replayed = {
        r.transaction.transaction_id: r.result.features
        for r in replay(transactions_in_time_order(), policy=current_policy())
    }

    live = dict(Decision.objects.values_list("transaction__transaction_id", "features"))
    assert live.keys() == replayed.keys()
    mismatched = [t for t in live if live[t] != replayed[t]]
    assert not mismatched, (mismatched[:3], live[mismatched[0]], replayed[mismatched[0]])
    assert any(f["merchant_fraud_rate_28d"] for f in live.values())
    assert any(f["amount_to_customer_mean_30d"] for f in live.values())
    periods = {as_of_for(t.occurred_at.timestamp(), PERIOD) for t in history}
    assert Decision.objects.values("cold_as_of").distinct().count() >= len(periods) - 1


def _post_labels_reported_by(api, chargebacks: list[tuple[datetime, str]], moment: datetime):
    while chargebacks and chargebacks[0][0] <= moment:
        reported_at, transaction_id = heapq.heappop(chargebacks)
        body = {
            "transaction_id": transaction_id,
            "label": "fraud",
            "source": "chargeback",
            "reported_at": reported_at.isoformat(),
        }
        response = api.post("/api/v1/labels", body, format="json")
        assert response.status_code == 201, response.content
