"""forget() takes an observed event back: later reads are as if it never came (both stores)."""

import random

import pytest

from scoring.features.event import Event
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.store import FeatureStore
from tests import factories

T0 = 1_800_000_000.0


features = factories.observed_features
event = factories.event


def observe_and_forget(store: FeatureStore, e: Event) -> bool:
    store.observe(e, scope="s")
    return store.forget(e, scope="s")


def test_a_forgotten_event_leaves_no_count_or_amount(store):
    features(store, event("a", T0, 10.0))
    assert observe_and_forget(store, event("ghost", T0 + 1, 500.0))

    values = features(store, event("b", T0 + 2, 20.0))

    assert (values["card_txn_count_1m"], values["card_amount_sum_1m"]) == (1, 10.0)
    assert (values["customer_txn_count_24h"], values["merchant_amount_sum_1h"]) == (1, 10.0)


def test_events_after_the_forgotten_one_keep_correct_cumulative_values(store):
    features(store, event("a", T0, 1.0))
    ghost = event("ghost", T0 + 10, 100.0)
    store.observe(ghost, scope="s")
    features(store, event("b", T0 + 20, 2.0))
    features(store, event("c", T0 + 3000, 4.0))

    assert store.forget(ghost, scope="s")
    values = features(store, event("d", T0 + 3030, 8.0))
    later = features(store, event("e", T0 + 3615, 16.0))

    assert (values["card_txn_count_1m"], values["card_amount_sum_1m"]) == (1, 4.0)
    assert (values["card_txn_count_1h"], values["card_amount_sum_1h"]) == (3, 7.0)
    # "a" (T0) and the ghost's slot (T0+10) fell out of the hour: b, c, d remain
    assert (later["card_txn_count_1h"], later["card_amount_sum_1h"]) == (3, 14.0)
    assert (later["card_txn_count_24h"], later["card_amount_sum_24h"]) == (4, 15.0)


def test_forgetting_one_of_a_burst_at_the_same_second_keeps_the_others(store):
    burst = [event(f"t{i}", T0, 1.0 + i) for i in range(12)]
    for e in burst:
        store.observe(e, scope="s")

    store.forget(burst[3], scope="s")
    values = features(store, event("next", T0))

    assert values["card_txn_count_1m"] == 11
    assert values["card_amount_sum_1m"] == sum(1.0 + i for i in range(12)) - 4.0


def test_a_burst_of_events_at_the_same_second_counts_every_one(store):
    counts = [features(store, event(f"t{i}", T0))["card_txn_count_1m"] for i in range(13)]

    assert counts == list(range(13))


def test_the_amount_profile_is_restored_exactly_when_nothing_changed_since(store):
    for i, amount in enumerate([10.0, 20.0, 30.0]):
        features(store, event(f"t{i}", T0 + 60 * i, amount))
    assert observe_and_forget(store, event("ghost", T0 + 150, 9000.0))

    values = features(store, event("t3", T0 + 200, 50.0))

    assert values["customer_seconds_since_last"] == 80.0
    assert values["customer_amount_mean"] == 20.0
    assert values["customer_amount_zscore"] == 3.0


def test_an_amount_forgotten_after_later_events_is_taken_out_of_the_running_stats(store):
    features(store, event("t0", T0, 10.0))
    ghost = event("ghost", T0 + 30, 9000.0)
    store.observe(ghost, scope="s")
    features(store, event("t1", T0 + 60, 20.0))
    features(store, event("t2", T0 + 120, 30.0))

    store.forget(ghost, scope="s")
    values = features(store, event("t3", T0 + 200, 50.0))

    assert values["customer_seconds_since_last"] == 80.0
    assert values["customer_amount_mean"] == pytest.approx(20.0)
    assert values["customer_amount_zscore"] == pytest.approx(3.0)


def test_a_device_and_a_country_first_seen_by_a_forgotten_event_are_new_again(store):
    features(store, event("a", T0, device_id="phone", country="DE"))
    assert observe_and_forget(store, event("ghost", T0 + 1, device_id="laptop", country="NG"))

    values = features(store, event("b", T0 + 2, device_id="laptop", country="NG"))
    home = features(store, event("c", T0 + 3, device_id="phone", country="DE"))

    assert (values["device_new_for_customer"], values["country_new_for_customer"]) == (1.0, 1.0)
    assert (home["device_new_for_customer"], home["country_new_for_customer"]) == (0.0, 0.0)


def test_a_merchant_only_a_forgotten_event_used_is_not_counted(store):
    features(store, event("a", T0, merchant_id="m1", country="DE"))
    assert observe_and_forget(store, event("ghost", T0 + 1, merchant_id="m2", country="FR"))

    values = features(store, event("b", T0 + 2, merchant_id="m3"))

    assert values["card_distinct_merchants_24h"] == 1
    assert values["card_distinct_countries_24h"] == 1


def test_a_merchant_used_again_by_a_forgotten_event_goes_back_to_its_earlier_time(store):
    features(store, event("old", T0, merchant_id="m1"))
    day = T0 + 90_000  # more than 24 h after "old"
    assert observe_and_forget(store, event("ghost", day, merchant_id="m1"))

    values = features(store, event("now", day + 1, merchant_id="m2"))

    assert values["card_distinct_merchants_24h"] == 0


def test_cards_on_a_device_do_not_include_a_forgotten_card(store):
    features(store, event("a", T0, card_id="k1", device_id="farm"))
    assert observe_and_forget(store, event("ghost", T0 + 1, card_id="k2", device_id="farm"))

    values = features(store, event("b", T0 + 2, card_id="k3", device_id="farm"))

    assert values["device_distinct_cards_1h"] == 1


def test_a_forgotten_first_payment_to_a_payee_leaves_no_first_payer(store):
    features(store, event("old", T0, customer_id="c0", payee_id="rent"))
    later = T0 + 90_000
    assert observe_and_forget(store, event("ghost", later, customer_id="v1", payee_id="rent"))

    rent = features(store, event("r", later + 1, customer_id="v2", payee_id="rent"))
    again = features(store, event("v1", later + 2, customer_id="v1", payee_id="rent"))
    after = features(store, event("r2", later + 3, customer_id="v3", payee_id="rent"))

    assert rent["payee_distinct_payers_24h"] == 0
    assert again["payee_distinct_payers_24h"] == 1
    # v1 paid for the first time at later+2 (its own event), not at the forgotten one's time
    assert (after["payee_distinct_payers_24h"], after["payee_new_payer_share_24h"]) == (2, 1.0)


def test_a_forgotten_ref_can_be_observed_again_as_new(store):
    ghost = event("t1", T0, 40.0)
    assert observe_and_forget(store, ghost)

    again = store.observe(ghost, scope="s")
    values = features(store, event("t2", T0 + 1))

    assert not again.replayed
    assert again.velocity["card"]["1m"].count == 0
    assert (values["card_txn_count_1m"], values["card_amount_sum_1m"]) == (1, 40.0)


def test_forgetting_an_unknown_or_already_forgotten_ref_changes_nothing(store):
    features(store, event("a", T0, 10.0))
    ghost = event("ghost", T0 + 1)
    assert observe_and_forget(store, ghost)

    assert not store.forget(event("never", T0 + 2), scope="s")
    assert not store.forget(ghost, scope="s")
    values = features(store, event("b", T0 + 3))

    assert (values["card_txn_count_1m"], values["card_amount_sum_1m"]) == (1, 10.0)
    assert values["customer_amount_mean"] == 10.0


def test_a_retry_of_a_kept_event_is_still_recognised_after_another_is_forgotten(store):
    kept = event("kept", T0)
    store.observe(kept, scope="s")
    observe_and_forget(store, event("ghost", T0 + 1))

    assert store.observe(kept, scope="s").replayed


def random_event(rng: random.Random, i: int, ts: float) -> Event:
    return event(
        f"r{i}",
        ts,
        round(rng.uniform(1, 500), 2),
        card_id=f"k{rng.randrange(4)}",
        customer_id=f"c{rng.randrange(3)}",
        merchant_id=f"m{rng.randrange(5)}",
        device_id=rng.choice([None, "d1", "d2", "d3"]),
        ip=rng.choice([None, "10.0.0.1", "10.0.0.2"]),
        country=rng.choice([None, "DE", "FR", "NG"]),
        payee_id=rng.choice([None, None, "p1", "p2"]),
    )


def test_events_forgotten_at_once_leave_the_state_of_a_store_that_never_saw_them(store):
    clean, rng, ts = MemoryFeatureStore(), random.Random(11), T0
    for i in range(250):
        ts += rng.expovariate(1 / 300)
        e = random_event(rng, i, ts)
        if rng.random() < 0.3:
            observe_and_forget(store, e)
            continue
        assert features(store, e) == pytest.approx(features(clean, e), nan_ok=True), f"event {i}"


def test_the_memory_and_redis_stores_agree_when_events_are_forgotten_later(redis_store):
    memory, rng, ts = MemoryFeatureStore(), random.Random(5), T0
    pending: list[Event] = []
    for i in range(250):
        ts += rng.expovariate(1 / 60)
        e = random_event(rng, i, ts)
        assert features(memory, e) == features(redis_store, e), f"event {i}"
        if rng.random() < 0.3:
            pending.append(e)
        if pending and rng.random() < 0.3:
            gone = pending.pop(rng.randrange(len(pending)))
            assert memory.forget(gone, scope="s") == redis_store.forget(gone, scope="s")


def test_a_card_and_device_first_seen_by_a_forgotten_event_are_new_again(store):
    features(store, event("a", T0, card_id="k1", device_id="phone"))
    assert observe_and_forget(store, event("ghost", T0 + 10, card_id="k2", device_id="laptop"))

    values = features(store, event("b", T0 + 50, card_id="k2", device_id="laptop"))

    assert values["card_seconds_since_first"] == 0.0
    assert values["device_seconds_since_first"] == 0.0
    assert values["customer_seconds_since_first"] == 50.0


def test_forgetting_a_late_event_gives_the_first_seen_back_to_the_earlier_one(store):
    features(store, event("a", T0 + 600))
    assert observe_and_forget(store, event("late", T0))

    values = features(store, event("b", T0 + 900))

    assert values["card_seconds_since_first"] == 300.0


def test_forgetting_one_of_two_first_events_at_the_same_second_keeps_the_other(store):
    first = event("a", T0)
    store.observe(first, scope="s")
    features(store, event("b", T0))

    assert store.forget(first, scope="s")
    values = features(store, event("c", T0 + 70))

    assert values["card_seconds_since_first"] == 70.0


def test_late_events_and_bursts_forgotten_at_once_leave_the_state_of_a_clean_store(store):
    clean, rng, ts = MemoryFeatureStore(), random.Random(13), T0
    for i in range(250):
        ts += rng.choice([0.0, rng.expovariate(1 / 120)])
        e = random_event(rng, i, ts - rng.choice([0.0, 0.0, rng.uniform(0, 1800)]))
        if rng.random() < 0.3:
            observe_and_forget(store, e)
            continue
        assert features(store, e) == pytest.approx(features(clean, e), nan_ok=True), f"event {i}"
