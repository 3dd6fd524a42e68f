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


def test_no_spending_in_the_last_day_reads_as_no_earlier_payments_not_as_zero_euros():
    reasons = top_reasons(
        {"card_amount_sum_24h": 0.8, "card_txn_count_24h": 0.3},
        features(amount=40.0, card_amount_sum_24h=0.0, card_txn_count_24h=0.0),
        "EUR",
    )

    # No spending and no transactions are one fact, told once with both contributions.
    assert reasons == [
        ("model.card_amount_sum_24h", "No earlier payments on this card in the last 24 hours.", 1.1)
    ]


def test_one_earlier_transaction_is_singular():
    reasons = top_reasons({"device_txn_count_1m": 0.4}, features(device_txn_count_1m=1.0), "EUR")

    assert [text for _, text, _ in reasons] == [
        "1 earlier transaction on this device in the last minute."
    ]


def test_spending_that_did_happen_is_stated_with_its_amount():
    reasons = top_reasons({"card_amount_sum_1h": 0.5}, features(card_amount_sum_1h=812.5), "EUR")

    assert reasons == [
        ("model.card_amount_sum_1h", "812.50 EUR spent on this card in the last hour.", 0.5)
    ]


def test_a_channel_the_payment_was_not_made_on_is_no_reason():
    reasons = top_reasons(
        {"channel_ecom": 0.9, "channel_pos": 0.4},
        features(channel_ecom=0.0, channel_pos=1.0),
        "EUR",
    )

    assert [text for _, text, _ in reasons] == ["A payment at a point of sale."]


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


def test_features_saying_the_same_thing_are_one_reason_with_their_contributions_added():
    reasons = top_reasons(
        {"device_txn_count_1m": 0.2, "device_amount_sum_24h": 0.3, "ip_txn_count_1h": 0.1},
        features(),
        "EUR",
    )

    assert reasons == [
        ("model.device_amount_sum_24h", "No device was sent with this payment.", 0.5),
        ("model.ip_txn_count_1h", "No IP address was sent with this payment.", 0.1),
    ]


@pytest.fixture(scope="module")
def explained(trained_model) -> list[list[str]]:
    """Top reasons from the small real model for every transaction of an unseen history."""
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
        [
            text
            for _, text, _ in top_reasons(
                scorer.explain(result.features),
                result.features,
                facts.currency,
                country_code=facts.country or "",
            )
        ]
        for _, facts, result in replayed(history)
    ]


def test_reasons_from_a_real_model_never_state_an_empty_or_ordinary_value_as_alarming(explained):
    misleading = [text for texts in explained for text in texts if MISLEADING.search(text)]

    assert len(explained) > 1000
    assert misleading == []


def test_a_real_model_still_gives_reasons_for_nearly_every_transaction(explained):
    without = sum(1 for texts in explained if not texts)

    assert without / len(explained) < 0.05


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
