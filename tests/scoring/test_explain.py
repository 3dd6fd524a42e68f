"""Reasons in words: what pushed toward fraud, never an ordinary value told as if alarming."""

import re
from datetime import UTC, datetime

import pytest

from scoring.explain import top_reasons
from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import LightGBMScorer
from scoring.simulation.history import HistorySimulator
from tests.scoring.model_fixtures import replayed

# Sentences that state an empty, zero or ordinary value as a fact pushing toward fraud.
MISLEADING = re.compile(
    r"(?<![\d.])0\.00 [A-Z]{3} spent"
    r"|(?<![\d.])0 earlier transactions"
    r"|(?<![\d.])[01] (other )?cards? (were |was )?used on this device"
    r"|used by [01] customers"
    r"|(?<![\d.])0\.0% of this merchant"
    r"|a device seen before|a country( \(\w+\))? seen before"
    r"|^Channel \w+\.$"
)


def features(**values: float | None) -> dict[str, float | None]:
    """Features of a decision whose store answered (the customer, always sent, has counts)."""
    answered = {"customer_txn_count_1m": 0.0, **values}
    return {name: answered.get(name) for name in FEATURE_NAMES}


def busy(**values: float | None) -> dict[str, float | None]:
    """Features of a customer paying 8 times a day (720 payments in 90 days), 40 EUR each."""
    return features(customer_txn_count_90d=720.0, customer_amount_mean_90d=40.0, **values)


def test_a_silent_day_on_the_card_of_a_busy_customer_reads_against_its_usual_pace():
    reasons = top_reasons(
        {"card_amount_sum_24h": 0.8, "card_txn_count_24h": 0.3},
        busy(amount=40.0, card_amount_sum_24h=0.0, card_txn_count_24h=0.0),
        "EUR",
    )

    # One window is one sentence, with both contributions; the count is what it states.
    assert reasons == [
        (
            "model.card_txn_count_24h",
            "No earlier payments on this card in the last 24 hours, against 8.0 a day usually.",
            1.1,
        )
    ]


def test_no_payment_in_a_day_is_no_reason_for_a_customer_who_pays_once_a_day():
    reasons = top_reasons(
        {"card_txn_count_24h": 0.8},
        features(customer_txn_count_90d=90.0, card_txn_count_24h=0.0),
        "EUR",
    )

    assert reasons == []


def test_one_earlier_payment_in_the_last_minute_is_singular_and_stands_out():
    reasons = top_reasons(
        {"device_txn_count_1m": 0.4},
        features(customer_txn_count_90d=90.0, device_txn_count_1m=1.0),
        "EUR",
    )

    assert [text for _, text, _ in reasons] == [
        "1 earlier payment on this device in the last minute, against 1.0 a day usually."
    ]


def test_spending_far_above_the_customers_habit_is_stated_with_its_amount():
    reasons = top_reasons(
        {"card_amount_sum_1h": 0.5}, busy(card_txn_count_1h=3.0, card_amount_sum_1h=812.5), "EUR"
    )

    assert reasons == [
        (
            "model.card_amount_sum_1h",
            "812.50 EUR spent on this card in the last hour, against 40.00 EUR a payment usually.",
            0.5,
        )
    ]


def test_a_usual_count_for_this_customer_is_no_reason():
    reasons = top_reasons(
        {"customer_txn_count_24h": 0.9, "customer_amount_sum_24h": 0.2},
        busy(customer_txn_count_24h=9.0, customer_amount_sum_24h=380.0),
        "EUR",
    )

    assert reasons == []


def test_the_channel_is_no_reason_it_says_nothing_unusual_about_this_customer():
    reasons = top_reasons(
        {"channel_ecom": 0.9, "channel_pos": 0.4},
        features(channel_ecom=0.0, channel_pos=1.0),
        "EUR",
    )

    assert reasons == []


def test_a_known_device_in_a_known_country_is_no_reason_and_the_next_one_takes_its_place():
    reasons = top_reasons(
        {"device_new_for_customer": 0.7, "country_new_for_customer": 0.2, "amount": 0.3},
        features(
            device_new_for_customer=0.0,
            country_new_for_customer=0.0,
            amount=950.0,
            customer_amount_mean_30d=41.5,
        ),
        "EUR",
    )

    assert [text for _, text, _ in reasons] == [
        "Amount 950.00 EUR is 22.9× this customer's 30-day average of 41.50 EUR."
    ]


def test_only_what_is_new_for_the_customer_is_named():
    reasons = top_reasons(
        {"device_new_for_customer": 0.7, "country_new_for_customer": 0.2},
        features(device_new_for_customer=0.0, country_new_for_customer=1.0),
        "EUR",
        country_code="NG",
    )

    assert [text for _, text, _ in reasons] == ["A country (NG) never seen for this customer."]


def test_an_amount_close_to_the_customers_average_is_no_reason():
    reasons = top_reasons(
        {"amount": 0.6, "customer_amount_zscore": 0.2},
        features(amount=45.0, customer_amount_mean_30d=41.5, customer_amount_zscore=0.3),
        "EUR",
    )

    assert reasons == []


def test_missing_values_are_no_reasons():
    reasons = top_reasons(
        {"device_txn_count_1m": 0.2, "device_amount_sum_24h": 0.3, "ip_txn_count_1h": 0.1,
         "device_seconds_since_first": 0.4, "device_customers_30d": 0.2},
        busy(),
        "EUR",
    )  # fmt: skip

    assert reasons == []


def test_a_device_first_seen_minutes_ago_is_named_with_its_age():
    reasons = top_reasons(
        {"device_seconds_since_first": 0.4, "card_seconds_since_first": 0.3},
        busy(device_seconds_since_first=300.0, card_seconds_since_first=400 * 86400.0),
        "EUR",
    )

    assert [text for _, text, _ in reasons] == ["This device was first seen 5 minutes ago."]


@pytest.mark.parametrize(
    ("age", "says"),
    [(0.3, "less than a second"), (1.0, "1 second"), (2.0, "2 seconds"), (90.0, "90 seconds")],
)
def test_a_device_first_seen_seconds_ago_reads_in_good_english(age, says):
    reasons = top_reasons(
        {"device_seconds_since_first": 0.4}, busy(device_seconds_since_first=age), "EUR"
    )

    assert [text for _, text, _ in reasons] == [f"This device was first seen {says} ago."]


def test_a_merchant_stands_out_only_against_the_fraud_rate_of_all_merchants():
    stands_out = top_reasons(
        {"merchant_fraud_rate_7d": 0.5, "merchant_fraud_lift_7d": 0.2},
        busy(merchant_fraud_rate_7d=0.04, merchant_fraud_lift_7d=4.0),
        "EUR",
    )
    like_the_others = top_reasons(
        {"merchant_fraud_rate_7d": 0.5},
        busy(merchant_fraud_rate_7d=0.01, merchant_fraud_lift_7d=1.1),
        "EUR",
    )

    assert stands_out == [
        (
            "model.merchant_fraud_lift_7d",
            "About 4.0% of this merchant's payments in the last 7 days were reported as fraud: "
            "4.0× the rate across all merchants.",
            0.7,
        )
    ]
    assert like_the_others == []


@pytest.fixture(scope="module")
def explained(trained_model) -> list[tuple[float, list[str]]]:
    """The small real model's score and top reasons for every transaction of an unseen
    history."""
    scorer = LightGBMScorer.load(
        trained_model.path,
        version="m",
        sha256=trained_model.sha256,
        features=FEATURE_NAMES,
        calibration=trained_model.calibration,
        known_features=FEATURE_NAMES,
    )
    history = HistorySimulator(seed=23, customers=120).generate(
        start=datetime(2026, 9, 1, tzinfo=UTC), days=10
    )
    return [
        (
            score.probability if (score := scorer.predict(result.features)) else 0.0,
            [
                text
                for _, text, _ in top_reasons(
                    scorer.explain(result.features),
                    result.features,
                    facts.currency,
                    country_code=facts.country or "",
                )
            ],
        )
        for _, facts, result in replayed(history)
    ]


def test_reasons_from_a_real_model_never_state_an_empty_or_ordinary_value_as_alarming(explained):
    misleading = [text for _, texts in explained for text in texts if MISLEADING.search(text)]

    assert len(explained) > 1000
    assert misleading == []


def test_a_real_model_gives_reasons_for_most_of_the_transactions_it_would_challenge(explained):
    # The transactions it scores highest (those a policy would review or decline): an ordinary
    # payment may have no reason at all, it has nothing unusual to name.
    challenged = sorted(explained, key=lambda item: item[0], reverse=True)[: len(explained) // 20]
    without = sum(1 for _, texts in challenged if not texts)

    assert without / len(challenged) < 0.1


def test_a_degraded_decision_states_nothing_about_history_it_could_not_read():
    # The store and the cold generation did not answer: every history feature is missing,
    # though the payment came with a card, a device and a known customer.
    features: dict[str, float | None] = dict.fromkeys(FEATURE_NAMES)
    features.update(amount=50.0, channel_ecom=1.0)
    contributions = {
        "card_txn_count_1h": 0.9,
        "device_distinct_cards_1h": 0.8,
        "customer_seconds_since_last": 0.7,
        "merchant_fraud_rate_28d": 0.6,
        "customer_txn_count_90d": 0.5,
    }

    reasons = top_reasons(contributions, features, "EUR")

    assert reasons == []
