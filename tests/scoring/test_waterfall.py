"""The SHAP walk from the base rate to the score: its steps add up from the base to exactly
the decision's score, the largest first, the rest summed, one-hot groups as one."""

import math

import numpy as np
import pytest

from scoring.features.definitions import FEATURE_NAMES
from scoring.waterfall import logit, sigmoid, waterfall
from tests.scoring.test_model import scorer_for

CONTRIBUTIONS = {
    "amount": 1.2,
    "device_new_for_customer": 0.6,
    "card_txn_count_1h": -0.4,
    "local_hour": 0.05,
    "ip_customers_30d": 0.02,
    "channel_pos": 0.01,
    "channel_ecom": 0.3,
    "channel_wallet": -0.1,
}
FEATURES = {"channel_pos": 0.0, "channel_ecom": 1.0, "channel_wallet": 0.0, "amount": 480.0}


def test_the_steps_add_up_from_the_base_to_the_decisions_score():
    walk = waterfall(base=-4.0, contributions=CONTRIBUTIONS, features=FEATURES, score=0.2, top=3)

    assert walk.steps[0].start == -4.0
    for before, after in zip(walk.steps, walk.steps[1:], strict=False):
        assert math.isclose(before.end, after.start)
    assert math.isclose(walk.base + math.fsum(s.delta for s in walk.steps), logit(0.2))
    assert walk.final == pytest.approx(logit(0.2), abs=1e-12)
    assert sigmoid(walk.final) == pytest.approx(0.2)


def test_the_top_contributors_come_first_by_size_and_the_others_are_summed():
    walk = waterfall(base=-4.0, contributions=CONTRIBUTIONS, features=FEATURES, score=0.2, top=3)

    labels = [s.label for s in walk.steps]
    assert labels[:3] == [
        "Amount",
        "New device for the customer",
        "Payments on this card, last hour",
    ]
    assert labels[3] == "All 3 others"
    # channel (0.01 + 0.3 - 0.1), local time 0.05, customers on the IP 0.02
    assert walk.steps[3].delta == pytest.approx(0.21 + 0.05 + 0.02)
    assert walk.steps[-1].kind == "calibration"
    raw = -4.0 + sum(CONTRIBUTIONS.values())
    assert walk.steps[-1].delta == pytest.approx(logit(0.2) - raw)


def test_a_one_hot_group_is_one_step_named_by_this_payments_value():
    walk = waterfall(base=-4.0, contributions=CONTRIBUTIONS, features=FEATURES, score=0.2, top=8)

    channel = [s for s in walk.steps if s.label.startswith("Channel")]
    assert [s.label for s in channel] == ["Channel: online"]
    assert channel[0].delta == pytest.approx(0.21)


def test_a_feature_with_no_value_says_so_in_its_step():
    # A payment sent without a device: the model still scores the missing device age.
    features = {**FEATURES, "device_new_for_customer": None}

    walk = waterfall(base=-4.0, contributions=CONTRIBUTIONS, features=features, score=0.2, top=8)

    labels = [s.label for s in walk.steps]
    assert "New device for the customer: no value" in labels
    assert "Amount" in labels  # a feature with a value keeps its plain label


def test_an_uncalibrated_score_needs_no_calibration_step():
    score = sigmoid(-4.0 + sum(CONTRIBUTIONS.values()))
    walk = waterfall(base=-4.0, contributions=CONTRIBUTIONS, features=FEATURES, score=score)

    assert all(s.kind != "calibration" for s in walk.steps)
    assert sigmoid(walk.final) == pytest.approx(score)


def test_a_real_models_explanation_starts_at_its_base_and_gives_its_score(trained_model):
    scorer = scorer_for(trained_model)
    rng = np.random.default_rng(7)
    for _ in range(5):
        row = {
            n: (None if rng.random() < 0.3 else float(rng.uniform(0, 50))) for n in FEATURE_NAMES
        }
        explained = scorer.explanation(row)
        score = scorer.predict(row)
        assert score is not None
        assert explained.probability == pytest.approx(score.probability, abs=1e-9)
        assert dict(explained.contributions) == pytest.approx(dict(scorer.explain(row)))

        walk = waterfall(
            base=explained.base, contributions=explained.contributions, features=row,
            score=score.probability,
        )  # fmt: skip
        assert sigmoid(walk.final) == pytest.approx(score.probability, abs=1e-9)
