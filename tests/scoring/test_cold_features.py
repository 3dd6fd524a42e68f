"""Cold (batch) features: point-in-time values, one definition for the batch job and replays,
and both stores serving a published generation the same way."""

import math

import pytest

from scoring.features.cold import (
    DAY,
    ColdHistory,
    ColdLabel,
    ScopedEvent,
    as_of_for,
    decode_customer,
    decode_merchant,
    hours_apart,
)
from scoring.features.definitions import Snapshot, compute_features
from scoring.features.event import Event
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.store import ColdOverlay

AS_OF = 1_800_000_000.0


def txn(ref: str, ts: float, amount: float = 10.0, scope: str = "s", **fields) -> ScopedEvent:
    values: dict = {
        "customer_id": "c1",
        "merchant_id": "m1",
        "device_id": None,
        "ip": None,
        "local_hour": 12.0,
    }
    values.update(fields)
    return ScopedEvent(scope, Event(ref=ref, ts=ts, amount=amount, **values))


def values(
    history: ColdHistory, as_of: float = AS_OF, device_id: str | None = None, ip: str | None = None
):
    return history.values(
        "s", customer_id="c1", merchant_id="m1", device_id=device_id, ip=ip, as_of=as_of
    )


def test_customer_means_use_only_their_window_before_as_of():
    history = ColdHistory(
        [
            txn("old", AS_OF - 60 * DAY, 100.0),  # in 90 days, not in 30
            txn("recent", AS_OF - 2 * DAY, 10.0),
            txn("recent2", AS_OF - 1, 20.0),
            txn("at", AS_OF, 1000.0),  # at as_of: not yet known
            txn("ancient", AS_OF - 91 * DAY, 5000.0),
        ]
    )

    customer = values(history).customer

    assert customer.amount_mean_30d == 15.0
    assert customer.amount_mean_90d == pytest.approx(130 / 3)
    assert customer.txns_90d == 3


def test_a_chargeback_counts_for_the_merchant_only_once_it_is_reported():
    history = ColdHistory(
        [txn("a", AS_OF - 10 * DAY), txn("b", AS_OF - 9 * DAY), txn("c", AS_OF - 8 * DAY)],
        [
            ColdLabel("s", "a", fraud=True, reported_at=AS_OF - 1 * DAY),
            ColdLabel("s", "b", fraud=True, reported_at=AS_OF + 5 * DAY),  # not known yet
        ],
    )

    merchant = values(history).merchant

    assert (merchant.txns_28d, merchant.known_fraud_28d) == (3, 1)
    assert values(history, as_of=AS_OF + 6 * DAY).merchant.known_fraud_28d == 2


def test_a_later_label_overrides_an_earlier_one_from_the_time_it_is_reported():
    history = ColdHistory(
        [txn("a", AS_OF - 10 * DAY)],
        [
            ColdLabel("s", "a", fraud=True, reported_at=AS_OF - 5 * DAY),
            ColdLabel("s", "a", fraud=False, reported_at=AS_OF - 1 * DAY),  # chargeback reversed
        ],
    )

    assert values(history, as_of=AS_OF - 2 * DAY).merchant.known_fraud_28d == 1
    assert values(history).merchant.known_fraud_28d == 0


def test_the_typical_hour_is_a_circular_mean_across_midnight():
    history = ColdHistory(
        [txn("a", AS_OF - 3 * DAY, local_hour=23.0), txn("b", AS_OF - 2 * DAY, local_hour=1.0)]
    )

    customer = values(history).customer

    assert min(customer.typical_hour, 24 - customer.typical_hour) == pytest.approx(0.0, abs=1e-9)
    assert customer.hour_concentration == pytest.approx(math.cos(math.pi / 12))
    assert hours_apart(23.5, 0.5) == 1.0


def test_devices_and_ips_count_distinct_customers_in_30_days():
    history = ColdHistory(
        [
            txn("a", AS_OF - 1 * DAY, customer_id="c1", device_id="d", ip="ip"),
            txn("b", AS_OF - 2 * DAY, customer_id="c2", device_id="d", ip="ip"),
            txn("c", AS_OF - 3 * DAY, customer_id="c2", device_id="d"),
            txn("d", AS_OF - 31 * DAY, customer_id="c3", device_id="d"),
        ]
    )

    found = values(history, device_id="d", ip="ip")

    assert (found.device_customers_30d, found.ip_customers_30d) == (2, 2)


def test_the_batch_job_on_the_window_alone_answers_what_a_replay_on_everything_answers():
    rows = [
        txn(f"t{i}", AS_OF - 100 * DAY + i * 3571.3, 1 + (i * 7919 % 1000) / 10,
            customer_id=f"c{i % 7}", merchant_id=f"m{i % 3}", device_id=f"d{i % 5}",
            local_hour=(i * 1.37) % 24)
        for i in range(2600)
    ]  # fmt: skip
    labels = [
        ColdLabel("s", f"t{i}", True, AS_OF - 100 * DAY + i * 4000.0) for i in range(0, 2600, 9)
    ]
    window = [r for r in rows if AS_OF - 90 * DAY <= r.event.ts < AS_OF]

    published = dict(ColdHistory(window, labels).entries(AS_OF))
    everything = ColdHistory(rows, labels)

    assert published == dict(everything.entries(AS_OF))
    assert len(published) == 7 + 3 + 5
    assert all(
        published[f"c:s:c{k}"] == everything.entry("c", "s", f"c{k}", AS_OF) for k in range(7)
    )


def test_as_of_is_the_start_of_the_period():
    assert as_of_for(7300.0, 3600) == 7200.0
    assert as_of_for(7200.0, 3600) == 7200.0


def test_no_generation_gives_missing_cold_features_not_zero():
    features = compute_features(
        Event(ref="a", ts=AS_OF, amount=10.0, customer_id="c1", merchant_id="m1", device_id="d"),
        Snapshot(),
    )

    assert features["customer_txn_count_90d"] is None
    assert features["device_customers_30d"] is None
    assert features["merchant_fraud_rate_28d"] is None


def test_a_published_generation_reaches_the_features_of_both_stores(store):
    history = ColdHistory(
        [
            txn("a", AS_OF - 2 * DAY, 40.0, device_id="d"),
            txn("b", AS_OF - DAY, 60.0, device_id="d"),
        ],
        [ColdLabel("s", "a", True, AS_OF - 3600)],
    )
    assert (
        store.observe(
            Event(ref="x", ts=AS_OF, amount=1.0, customer_id="c1", merchant_id="m1"), scope="s"
        ).cold
        is None
    )

    store.cold_publish(AS_OF, history.entries(AS_OF))
    snapshot = store.observe(
        Event(
            ref="y", ts=AS_OF + 10, amount=150.0, customer_id="c1", merchant_id="m1", device_id="d"
        ),
        scope="s",
    )
    features = compute_features(
        Event(
            ref="y",
            ts=AS_OF + 10,
            amount=150.0,
            customer_id="c1",
            merchant_id="m1",
            device_id="d",
            ip="1.2.3.4",
            local_hour=12.0,
        ),
        snapshot,
    )

    assert snapshot.cold == values(history, device_id="d")
    assert features["amount_to_customer_mean_30d"] == 3.0
    assert features["merchant_fraud_rate_28d"] == 0.5
    assert features["device_customers_30d"] == 1.0
    assert features["ip_customers_30d"] == 0.0  # sent, never seen: a real zero
    assert store.cold_as_of() == AS_OF


def test_a_new_generation_replaces_the_old_one_entirely(store):
    store.cold_publish(AS_OF, [("c:s:c1", "10.0,10.0,1,12.0,1.0"), ("c:s:gone", "1.0,1.0,1,,")])
    store.cold_publish(AS_OF + 3600, [("c:s:c1", "20.0,20.0,2,12.0,1.0")])

    mine = store.observe(
        Event(ref="a", ts=AS_OF + 3700, amount=1.0, customer_id="c1", merchant_id="m1"), scope="s"
    ).cold
    gone = store.observe(
        Event(ref="b", ts=AS_OF + 3700, amount=1.0, customer_id="gone", merchant_id="m1"), scope="s"
    ).cold

    assert (mine.as_of, mine.customer.amount_mean_30d) == (AS_OF + 3600, 20.0)
    assert gone.customer.txns_90d == 0


def test_the_redis_store_drops_the_previous_generation(redis_store, redis_client):
    redis_store.cold_publish(AS_OF, [("c:s:c1", "1.0,1.0,1,,")])
    redis_store.cold_publish(AS_OF + 3600, [("c:s:c1", "2.0,2.0,1,,")])

    generations = list(redis_client.scan_iter(match=f"{redis_store._cold_pointer}:*"))

    assert generations == [f"{redis_store._cold_pointer}:{AS_OF + 3600!r}".encode()]


def test_an_overlay_answers_the_generation_it_is_set_to():
    history = ColdHistory([txn("a", AS_OF - DAY, 40.0)])
    overlay = ColdOverlay(MemoryFeatureStore(), history)

    overlay.at(None)
    assert (
        overlay.observe(
            Event(ref="x", ts=AS_OF, amount=1.0, customer_id="c1", merchant_id="m1"), scope="s"
        ).cold
        is None
    )
    overlay.at(AS_OF)
    cold = overlay.observe(
        Event(ref="y", ts=AS_OF, amount=1.0, customer_id="c1", merchant_id="m1"), scope="s"
    ).cold
    assert cold is not None
    assert (cold.as_of, cold.customer.amount_mean_30d) == (AS_OF, 40.0)


def test_publishing_the_same_moment_again_replaces_the_generation_whole(redis_store, redis_client):
    redis_store.cold_publish(AS_OF, [("c:s:c1", "1.0,1.0,1,,"), ("c:s:c2", "2.0,2.0,1,,")])
    redis_store.cold_publish(AS_OF, [("c:s:c1", "3.0,3.0,1,,")])

    mine = redis_store.observe(
        Event(ref="a", ts=AS_OF + 1, amount=1.0, customer_id="c1", merchant_id="m1"), scope="s"
    ).cold
    gone = redis_store.observe(
        Event(ref="b", ts=AS_OF + 1, amount=1.0, customer_id="c2", merchant_id="m1"), scope="s"
    ).cold

    assert mine is not None
    assert gone is not None
    assert (mine.customer.amount_mean_30d, gone.customer.txns_90d) == (3.0, 0)
    assert not list(redis_client.scan_iter(match=f"{redis_store._cold_pointer}:*:building:*"))


def test_a_customers_count_and_spend_over_7_and_30_days_end_at_as_of():
    history = ColdHistory(
        [
            txn("a", AS_OF - 20 * DAY, 100.0),
            txn("b", AS_OF - 3 * DAY, 10.0),
            txn("c", AS_OF - 1, 30.0),
            txn("at", AS_OF, 999.0),  # not yet known
        ]
    )

    customer = values(history).customer
    features = compute_features(
        Event(ref="x", ts=AS_OF + 5, amount=40.0, customer_id="c1", merchant_id="m1"),
        Snapshot(cold=values(history)),
    )

    assert (customer.txns_7d, customer.amount_sum_7d) == (2, 40.0)
    assert (customer.txns_30d, customer.amount_sum_30d) == (3, 140.0)
    assert features["amount_to_customer_mean_7d"] == 2.0
    assert features["customer_txn_count_30d"] == 3.0


def test_a_customer_without_payments_in_7_days_has_no_mean_to_hold_the_amount_against():
    history = ColdHistory([txn("a", AS_OF - 20 * DAY, 100.0)])

    features = compute_features(
        Event(ref="x", ts=AS_OF, amount=40.0, customer_id="c1", merchant_id="m1"),
        Snapshot(cold=values(history)),
    )

    assert features["customer_txn_count_7d"] == 0.0  # a real zero: the customer is known
    assert features["amount_to_customer_mean_7d"] is None


def test_merchant_fraud_rates_count_labels_known_at_as_of_smoothed_toward_the_integrator():
    rows = [txn(f"m1-{i}", AS_OF - 2 * DAY - i, merchant_id="m1") for i in range(10)]
    rows += [txn(f"m2-{i}", AS_OF - 2 * DAY - i, merchant_id="m2") for i in range(90)]
    rows.append(txn("today", AS_OF - 3600, merchant_id="m1"))
    labels = [ColdLabel("s", f"m1-{i}", True, AS_OF - DAY) for i in range(4)]
    labels.append(ColdLabel("s", "m1-5", True, AS_OF + DAY))  # reported later: unknown yet
    history = ColdHistory(rows, labels)

    merchant = values(history).merchant
    week = merchant.rate("7d")
    features = compute_features(
        Event(ref="x", ts=AS_OF, amount=1.0, customer_id="c1", merchant_id="m1"),
        Snapshot(cold=values(history)),
    )

    assert (week.txns, week.known_fraud, week.scope_txns, week.scope_known_fraud) == (
        11, 4, 101, 4,
    )  # fmt: skip
    prior = 4 / 101
    assert features["merchant_fraud_rate_7d"] == pytest.approx((4 + 20 * prior) / (11 + 20))
    assert features["merchant_fraud_lift_7d"] == pytest.approx((4 + 20 * prior) / 31 / prior)
    # The last day: one payment, no fraud known; the integrator has none either.
    assert features["merchant_fraud_rate_1d"] == 0.0
    assert features["merchant_fraud_lift_1d"] is None


def test_a_generation_published_before_the_new_fields_reads_them_as_absent():
    customer = decode_customer("10.0,10.0,1,12.0,1.0")
    merchant = decode_merchant("5,1")

    assert (customer.txns_90d, customer.txns_7d, customer.amount_sum_30d) == (1, 0, 0.0)
    assert (merchant.txns_28d, merchant.rate("7d").smoothed()) == (5, None)
