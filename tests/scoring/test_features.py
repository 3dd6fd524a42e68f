"""Feature definitions and both feature stores (in-process and real Redis) behave the same."""

import threading

import pytest

from scoring.features.definitions import FEATURE_NAMES, Snapshot, compute_features
from tests import factories

T0 = 1_800_000_000.0


features = factories.observed_features
event = factories.event


def test_features_have_every_name_in_order():
    values = compute_features(event("a", T0), Snapshot())

    assert tuple(values) == FEATURE_NAMES


def test_absent_optional_fields_give_missing_values_not_zero():
    values = compute_features(event("a", T0, device_id=None, ip=None), Snapshot())

    assert values["device_txn_count_1h"] is None
    assert values["ip_amount_sum_24h"] is None
    assert values["device_new_for_customer"] is None
    assert values["customer_seconds_since_last"] is None


def test_it_counts_and_sums_history_strictly_before_the_event(store):
    for i, amount in enumerate([10.0, 20.0, 30.0]):
        features(store, event(f"t{i}", T0 + i, amount))

    values = features(store, event("t3", T0 + 3, 40.0))

    assert values["card_txn_count_1m"] == 3
    assert values["card_amount_sum_1m"] == 60.0
    assert values["customer_txn_count_24h"] == 3


def test_windows_forget_events_older_than_their_length(store):
    features(store, event("old", T0, 100.0))
    features(store, event("mid", T0 + 3000, 5.0))

    values = features(store, event("now", T0 + 3601, 1.0))

    assert values["card_txn_count_1m"] == 0
    assert (values["card_txn_count_1h"], values["card_amount_sum_1h"]) == (1, 5.0)
    assert (values["card_txn_count_24h"], values["card_amount_sum_24h"]) == (2, 105.0)


def test_a_retried_event_is_not_counted_twice(store):
    first = store.observe(event("dup", T0), scope="s")
    again = store.observe(event("dup", T0), scope="s")

    values = features(store, event("next", T0 + 1))

    assert again.replayed
    assert not first.replayed
    assert again.velocity == first.velocity
    assert values["card_txn_count_1m"] == 1


def test_concurrent_duplicates_are_counted_once(store):
    barrier = threading.Barrier(16)

    def observe():
        barrier.wait()
        store.observe(event("same", T0, 50.0), scope="s")

    threads = [threading.Thread(target=observe) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    values = features(store, event("after", T0 + 1))
    assert (values["card_txn_count_1m"], values["card_amount_sum_1m"]) == (1, 50.0)


def test_it_counts_distinct_merchants_and_countries_per_card(store):
    features(store, event("a", T0, merchant_id="m1", country="DE"))
    features(store, event("b", T0 + 1, merchant_id="m2", country="FR"))
    features(store, event("c", T0 + 2, merchant_id="m1", country="DE"))

    values = features(store, event("d", T0 + 3, merchant_id="m3"))

    assert values["card_distinct_merchants_24h"] == 2
    assert values["card_distinct_countries_24h"] == 2


def test_it_tracks_the_customers_last_time_and_amount_profile(store):
    for i, amount in enumerate([10.0, 20.0, 30.0]):
        features(store, event(f"t{i}", T0 + 60 * i, amount))

    values = features(store, event("t3", T0 + 200, 50.0))

    assert values["customer_seconds_since_last"] == 80.0
    assert values["customer_amount_mean"] == pytest.approx(20.0)
    assert values["customer_amount_zscore"] == pytest.approx(3.0)


def test_it_knows_whether_the_customer_used_the_device_before(store):
    first = features(store, event("a", T0, device_id="phone"))
    second = features(store, event("b", T0 + 1, device_id="phone"))
    other = features(store, event("c", T0 + 2, device_id="laptop"))

    assert [first["device_new_for_customer"], second["device_new_for_customer"]] == [1.0, 0.0]
    assert other["device_new_for_customer"] == 1.0


def test_scopes_do_not_share_state(store):
    store.observe(event("a", T0), scope="integrator-1")

    snapshot = store.observe(event("b", T0 + 1), scope="integrator-2")

    assert snapshot.velocity["card"]["1m"].count == 0


def test_a_slightly_late_event_is_read_exactly(store):
    features(store, event("a", T0 + 100))
    features(store, event("b", T0 + 200))

    late = features(store, event("late", T0 + 150))

    assert late["card_txn_count_1m"] == 1  # only "a" (T0+100) is within (T0+90, T0+150]
    assert late["card_txn_count_1h"] == 1


def test_the_memory_and_redis_stores_agree_on_a_random_stream(redis_store):
    import random

    from scoring.features.memory_store import MemoryFeatureStore

    memory, rng = MemoryFeatureStore(), random.Random(7)
    ts = T0
    for i in range(300):
        ts += rng.expovariate(1 / 40)
        e = event(
            f"r{i}",
            ts,
            round(rng.uniform(1, 500), 2),
            card_id=f"k{rng.randrange(5)}",
            customer_id=f"c{rng.randrange(4)}",
            merchant_id=f"m{rng.randrange(6)}",
            device_id=rng.choice([None, "d1", "d2", "d3"]),
            ip=rng.choice([None, "10.0.0.1", "10.0.0.2"]),
            country=rng.choice([None, "DE", "FR"]),
            payee_id=rng.choice([None, None, "p1", "p2"]),
        )
        assert features(memory, e) == features(redis_store, e), f"event {i}"


def test_it_knows_whether_the_customer_was_in_the_country_before(store):
    home = features(store, event("a", T0, country="DE"))
    again = features(store, event("b", T0 + 1, country="DE"))
    abroad = features(store, event("c", T0 + 2, country="NG"))
    unknown = features(store, event("d", T0 + 3, country=None))

    assert [home["country_new_for_customer"], again["country_new_for_customer"]] == [1.0, 0.0]
    assert abroad["country_new_for_customer"] == 1.0
    assert unknown["country_new_for_customer"] is None


def test_it_counts_the_cards_used_on_a_device_in_the_last_hour(store):
    for i in range(6):
        features(
            store, event(f"t{i}", T0 + i, card_id=f"k{i}", device_id="farm", customer_id=f"c{i}")
        )

    values = features(store, event("t6", T0 + 10, card_id="k6", device_id="farm"))
    later = features(store, event("t7", T0 + 4000, card_id="k7", device_id="farm"))

    assert values["device_distinct_cards_1h"] == 6
    assert later["device_distinct_cards_1h"] == 0


def test_a_new_payee_with_many_first_time_payers_stands_out(store):
    features(store, event("old", T0, customer_id="c0", payee_id="rent"))
    for i in range(5):
        features(store, event(f"m{i}", T0 + 90_000 + i, customer_id=f"v{i}", payee_id="mule"))
    features(store, event("again", T0 + 90_000, customer_id="c0", payee_id="rent"))

    mule = features(store, event("m5", T0 + 90_010, customer_id="v5", payee_id="mule"))
    rent = features(store, event("r", T0 + 90_020, customer_id="c1", payee_id="rent"))

    assert (mule["payee_distinct_payers_24h"], mule["payee_new_payer_share_24h"]) == (5, 1.0)
    assert (rent["payee_distinct_payers_24h"], rent["payee_new_payer_share_24h"]) == (1, 0.0)


def test_it_knows_how_long_ago_the_card_customer_and_device_were_first_seen(store):
    first = features(store, event("a", T0, device_id="phone"))
    features(store, event("b", T0 + 100, card_id="k2", device_id="phone"))

    values = features(store, event("c", T0 + 400, device_id="laptop"))
    no_device = features(store, event("d", T0 + 500, device_id=None))

    # Never seen before this event: first seen now (a real 0, not a missing value).
    assert [first[f"{e}_seconds_since_first"] for e in ("card", "customer", "device")] == [0, 0, 0]
    assert values["card_seconds_since_first"] == 400.0
    assert values["customer_seconds_since_first"] == 400.0
    assert values["device_seconds_since_first"] == 0.0
    assert no_device["device_seconds_since_first"] is None


def test_a_late_event_before_the_first_one_becomes_the_first_seen(store):
    features(store, event("a", T0 + 600))

    late = features(store, event("late", T0))
    after = features(store, event("b", T0 + 900))

    assert late["card_seconds_since_first"] == 0.0  # nothing at or before it was seen
    assert after["card_seconds_since_first"] == 900.0


def test_the_first_seen_of_a_degraded_decision_is_missing_not_new():
    values = compute_features(event("a", T0), Snapshot())

    assert values["card_seconds_since_first"] is None
    assert values["customer_seconds_since_first"] is None


def test_the_amount_is_held_against_the_customers_mean_of_the_last_24_hours(store):
    first = features(store, event("a", T0, 20.0))
    features(store, event("b", T0 + 60, 40.0))

    values = features(store, event("c", T0 + 120, 90.0))

    assert first["amount_to_customer_mean_24h"] is None  # an empty window has no mean
    assert values["amount_to_customer_mean_24h"] == pytest.approx(3.0)


def test_the_memory_and_redis_stores_agree_with_late_events_and_bursts(redis_store):
    import random

    from scoring.features.memory_store import MemoryFeatureStore

    memory, rng = MemoryFeatureStore(), random.Random(3)
    ts = T0
    for i in range(300):
        ts += rng.choice([0.0, 0.0, rng.expovariate(1 / 60)])
        at = ts - rng.choice([0.0, 0.0, 0.0, rng.uniform(0, 1800)])  # some arrive late
        e = event(
            f"r{i}", at, round(rng.uniform(1, 500), 2),
            card_id=f"k{rng.randrange(8)}", customer_id=f"c{rng.randrange(6)}",
            device_id=rng.choice([None, "d1", "d2", f"d{i}"]),
        )  # fmt: skip
        assert features(memory, e) == features(redis_store, e), f"event {i}"
