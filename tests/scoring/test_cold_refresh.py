"""Batch work: publishing cold-feature generations and explaining approvals after commit."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from scoring import serving
from scoring.cold_refresh import cold_features_refresh
from scoring.decisions import decisions_explain_pending
from scoring.lifecycle import model_promote
from scoring.models import Decision
from tests import factories
from tests.scoring.test_model import version_for


def model_reason_codes(decision: Decision) -> list[str]:
    return [r["code"] for r in decision.reasons if r["code"].startswith("model.")]


@pytest.fixture
def model_active(trained_model):
    model_promote(version=version_for(trained_model, "m-a"), actor=None, reason="test")


@pytest.mark.django_db
def test_a_refresh_publishes_the_generation_of_the_current_period_once(api, settings):
    settings.COLD_FEATURES_PERIOD_SECONDS = 3600
    yesterday = timezone.now() - timedelta(days=1)
    for amount in ("10.00", "30.00"):
        body = factories.payload(amount=amount, occurred_at=yesterday.isoformat())
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201

    first = cold_features_refresh(store=serving.feature_store())
    again = cold_features_refresh(store=serving.feature_store())
    response = api.post("/api/v1/decisions", factories.payload(amount="60.00"), format="json")

    assert first.entries == 4  # customer, merchant, device, IP address
    assert again.skipped
    assert again.as_of == first.as_of
    features = Decision.objects.latest("created_at").features
    assert features["customer_amount_mean_30d"] == 20.0
    assert features["amount_to_customer_mean_30d"] == 3.0
    assert response.status_code == 201


@pytest.mark.django_db
def test_an_approval_gets_the_models_reasons_right_after_it_is_stored(
    api, model_active, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/decisions", factories.payload(), format="json")

    body = response.json()
    assert body["outcome"] == "approve"
    assert not [r for r in body["reasons"] if r["code"].startswith("model.")]
    decision = Decision.objects.get()
    assert not decision.reasons_pending
    assert 1 <= len(model_reason_codes(decision)) <= 3


@pytest.mark.django_db
def test_approvals_whose_explanation_was_lost_are_explained_by_the_sweep(api, model_active):
    # No on-commit callbacks run in this test: as if the worker died after the response.
    api.post("/api/v1/decisions", factories.payload(), format="json")
    assert Decision.objects.get().reasons_pending

    explained = decisions_explain_pending(older_than_seconds=0)

    decision = Decision.objects.get()
    assert explained == 1
    assert not decision.reasons_pending
    assert model_reason_codes(decision)
    assert decisions_explain_pending(older_than_seconds=0) == 0


@pytest.mark.django_db(transaction=True)
def test_a_background_explanation_reaches_the_record_within_a_second(api, model_active, settings):
    settings.EXPLAIN_APPROVALS_IN_BACKGROUND = True
    response = api.post("/api/v1/decisions", factories.payload(), format="json")
    assert response.json()["outcome"] == "approve"

    deadline = time.monotonic() + 1.0
    while Decision.objects.get().reasons_pending and time.monotonic() < deadline:
        time.sleep(0.02)

    assert model_reason_codes(Decision.objects.get())
