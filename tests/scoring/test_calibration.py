"""Isotonic calibration keeps the model's order: a ranking never loses it to a plateau."""

from __future__ import annotations

import numpy as np

from scoring.lgbm import Calibration

# A step function with a wide plateau at 0.2 between raw 0.1 and 0.5.
STEPS = Calibration(x=(0.0, 0.1, 0.5, 0.9), y=(0.0, 0.2, 0.2, 0.95))


def test_calibrated_scores_are_strictly_increasing_in_the_raw_score() -> None:
    raw = np.linspace(0.0, 1.0, 2001)
    calibrated = STEPS.apply_many(raw)
    assert np.all(np.diff(calibrated) > 0)


def test_calibrated_scores_stay_within_one_millionth_of_the_isotonic_step() -> None:
    raw = np.linspace(0.0, 1.0, 2001)
    stepped = np.interp(raw, STEPS.x, STEPS.y)
    assert np.max(np.abs(STEPS.apply_many(raw) - stepped)) <= Calibration.TIE_BREAK


def test_two_raw_scores_on_one_plateau_keep_their_order() -> None:
    assert STEPS.apply(0.2) < STEPS.apply(0.4)
    assert abs(STEPS.apply(0.2) - 0.2) < 1e-6


def test_one_score_and_a_batch_give_the_same_probability() -> None:
    raw = np.array([0.05, 0.3, 0.7, 0.99])
    assert STEPS.apply_many(raw).tolist() == [STEPS.apply(r) for r in raw]


def test_calibrated_scores_stay_probabilities() -> None:
    calibrated = STEPS.apply_many(np.array([0.0, 1.0]))
    assert calibrated[0] >= 0.0
    assert calibrated[1] <= 1.0


def test_no_calibration_returns_the_raw_score() -> None:
    assert Calibration(x=(), y=()).apply(0.37) == 0.37
