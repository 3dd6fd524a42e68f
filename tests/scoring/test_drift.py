"""Drift: PSI per feature between a reference week and the last day, stored and shown."""

import random
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from scoring.drift import drift_check
from scoring.models import Decision, DriftReport
from scoring.psi import SCORE_SHIFTED, SHIFTED, plateau_edges, psi
from tests import factories


def sample(mean: float, n: int = 2000, seed: int = 1) -> list[float | None]:
    rng = random.Random(seed)
    return [rng.gauss(mean, 10) for _ in range(n)]


def test_the_same_distribution_is_stable():
    assert psi(sample(50, seed=1), sample(50, seed=2)) < 0.05


def test_a_moved_distribution_is_shifted():
    assert psi(sample(50), sample(65, seed=2)) >= SHIFTED


def test_a_feature_that_stops_arriving_is_shifted():
    missing: list[float | None] = [None] * 1500
    stopped = missing + sample(50, n=500, seed=3)

    assert psi(sample(50), stopped) >= SHIFTED


def test_empty_windows_give_no_drift():
    assert psi([], sample(50)) == 0.0
    assert psi(sample(50), []) == 0.0


def test_a_score_on_plateaus_gets_a_bin_per_plateau_so_its_risky_tail_is_seen_moving():
    # A day when payments that sat at 0.7727 (declines) land at 0.1667 (reviews): every one of
    # them inside the reference's top decile, so to deciles nothing moved.
    reference = [0.0095] * 300 + [0.0213] * 450 + [0.0455] * 160 + [0.1667] * 13 + [0.7727] * 77
    current = [0.0095] * 300 + [0.0213] * 450 + [0.0455] * 160 + [0.1667] * 70 + [0.7727] * 20

    assert plateau_edges(reference) == [0.0095, 0.0213, 0.0455, 0.1667, 0.7727]
    assert psi(reference, current) < 0.001
    assert psi(reference, current, edges=plateau_edges(reference)) >= SCORE_SHIFTED


def test_plateau_edges_of_a_continuous_value_are_its_deciles():
    values = sample(50)

    assert plateau_edges(values) == sorted(set(plateau_edges(values)))
    assert len(plateau_edges(values)) == 9


@pytest.mark.django_db
def test_a_drift_check_finds_the_feature_that_moved_and_is_shown_to_managers(api):
    rng = random.Random(5)
    now = timezone.now()
    for days_ago, mean in [(3, 40)] * 60 + [(0.2, 400)] * 60:
        occurred = now - timedelta(days=days_ago, minutes=rng.uniform(0, 60))
        amount = f"{max(1.0, rng.gauss(mean, 5)):.2f}"
        body = factories.payload(amount=amount, occurred_at=occurred.isoformat(),
                                 customer_id=f"c-{rng.randrange(1000)}")  # fmt: skip
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201

    report = drift_check(now=now)

    assert (report.reference_decisions, report.current_decisions) == (60, 60)
    assert "amount" in report.shifted
    assert report.psi["amount"] >= SHIFTED
    assert report.shifted == sorted(report.shifted, key=lambda n: -report.psi[n])
    assert report.psi["channel_ecom"] < 0.1  # unchanged
    assert DriftReport.objects.get() == report
    manager = factories.user("mia", "manager")
    client = Client()
    client.force_login(manager)
    page = client.get("/kpis/")
    assert 'id="drift-shifted"' in page.text
    assert Decision.objects.count() == 120


@pytest.mark.django_db
def test_the_score_is_binned_by_probability_not_by_the_tie_break_inside_a_plateau(api):
    # Calibrated scores sit on a few isotonic plateaus, kept in the model's order by a
    # tie-break of at most a millionth: two days with the same probabilities but another raw
    # order inside each plateau have not drifted.
    now = timezone.now()
    for days_ago in [3] * 60 + [0.2] * 60:
        occurred = now - timedelta(days=days_ago)
        body = factories.payload(occurred_at=occurred.isoformat())
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201
    plateaus = [0.0095] * 18 + [0.0213] * 27 + [0.0455] * 10 + [0.7727] * 5
    decisions = Decision.objects.order_by("transaction__occurred_at")
    for i, decision in enumerate(decisions):
        # The reference's tie-breaks spread over the plateau, the last day's sit at its top.
        lift = (i % 60) / 60 if i < 60 else 0.9 + (i % 60) / 600
        Decision.objects.filter(pk=decision.pk).update(score=plateaus[i % 60] + lift * 1e-6)
    unrounded = list(decisions.values_list("score", flat=True))
    assert psi(unrounded[:60], unrounded[60:]) >= SHIFTED  # what deciles of raw order say

    report = drift_check(now=now)

    assert report.psi["score"] < 0.05
    assert "score" not in report.shifted
