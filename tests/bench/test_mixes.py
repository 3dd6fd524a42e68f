"""The decision benchmark's traffic mixes and what it counts of the responses."""

from __future__ import annotations

import random

from bench.load import PhaseResult, _Tally
from bench.mixes import RealisticMix, StressMix
from bench.prepare import HISTORY_CUSTOMERS, HISTORY_SEED
from scoring.simulation.population import Population


def test_the_realistic_mix_pays_as_the_historys_customers() -> None:
    known = {
        c.id: c for c in Population.of_seed(HISTORY_SEED, customers=HISTORY_CUSTOMERS).customers
    }
    mix = RealisticMix()

    payloads = [mix(random.Random(1), f"t-{i}") for i in range(200)]

    assert [p["transaction_id"] for p in payloads[:2]] == ["t-0", "t-1"]
    # Card testing and mule fan-in pay from other cards; everyday payments are the customer's.
    own = [p for p in payloads if p["customer_id"] in known]
    assert len(own) > 150
    assert all(p["card_id"] == known[p["customer_id"]].card_id for p in own)


def test_the_stress_mix_pays_as_a_new_customer_each_time() -> None:
    mix, rng = StressMix(), random.Random(1)

    payloads = [mix(rng, f"s-{i}") for i in range(50)]

    for field in ("customer_id", "card_id", "device_id", "email"):
        assert len({p[field] for p in payloads}) == 50, field


def test_a_phase_counts_the_decisions_outcomes_and_the_challenged_share() -> None:
    tally, result = _Tally(), PhaseResult("stress", "seq")
    for outcome in ("approve", "approve", "review", "decline"):
        tally.count_outcome(b'{"decision_id":"d","outcome":"%s"}' % outcome.encode())
    tally.count_outcome(b'{"transaction_id":"floor"}')

    tally.merge_into(result)

    assert result.outcomes == {"approve": 2, "review": 1, "decline": 1}
    assert result.challenged_share == 0.5


def test_about_two_in_five_stress_payments_are_big_ones_at_cash_out_merchants() -> None:
    mix, rng = StressMix(), random.Random(3)
    cash_out = set(Population.of_seed(7, customers=0).cash_out)

    payloads = [mix(rng, f"s-{i}") for i in range(1000)]

    big = [p for p in payloads if float(p["amount"]) > 2000]
    assert 350 <= len(big) <= 450
    assert all(p["merchant_id"] in cash_out for p in big)
