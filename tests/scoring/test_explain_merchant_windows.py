"""A merchant whose fraud rate stands out over the last day is explained in words (the 1-day
window had no words: a KeyError aborted the decision)."""

from scoring.explain import _merchant_fraud


def test_a_merchant_whose_last_day_stands_out_is_explained():
    told = _merchant_fraud({"merchant_fraud_lift_1d": 9.0, "merchant_fraud_rate_1d": 0.3})

    assert told is not None
    assert told[0] == "model.merchant_fraud_lift_1d"
    assert "in the last day were reported as fraud" in told[1]
