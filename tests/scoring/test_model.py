"""The LightGBM model in the synchronous path: loading, scoring, explaining, swapping."""

import time
from datetime import timedelta

import numpy as np
import pytest
import shap
from django.utils import timezone

from scoring import runtime
from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import LightGBMScorer, ModelLoadError
from scoring.models import Decision, ModelVersion
from scoring.services import model_promote
from tests import factories


def version_for(model, name: str) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name,
        path=str(model.path),
        sha256=model.sha256,
        features=[{"name": n, "type": "number"} for n in FEATURE_NAMES],
        calibration={"x": list(model.calibration.x), "y": list(model.calibration.y)},
        trained_from="2026-08-01T00:00:00Z",
        trained_until="2026-08-25T00:00:00Z",
        data_hash="0" * 64,
    )


def scorer_for(model) -> LightGBMScorer:
    return LightGBMScorer.load(
        model.path, version="m", sha256=model.sha256, features=FEATURE_NAMES,
        calibration=model.calibration, known_features=FEATURE_NAMES,
    )  # fmt: skip


def test_shap_values_equal_the_shap_librarys_tree_explainer(trained_model):
    scorer = scorer_for(trained_model)
    rng = np.random.default_rng(3)
    rows = [
        {n: (None if rng.random() < 0.2 else float(rng.uniform(0, 50))) for n in FEATURE_NAMES}
        for _ in range(20)
    ]
    explainer = shap.TreeExplainer(scorer._booster)

    for values in rows:
        ours = scorer.explain(values)
        theirs = np.asarray(explainer.shap_values(scorer.row(values))).reshape(-1)[
            -len(FEATURE_NAMES) :
        ]
        assert np.allclose([ours[n] for n in FEATURE_NAMES], theirs, atol=1e-6)


def test_a_missing_value_reaches_the_model_as_nan_not_zero(trained_model):
    row = scorer_for(trained_model).row({"amount": 10.0})

    assert row[0, FEATURE_NAMES.index("amount")] == 10.0
    assert np.isnan(row[0, FEATURE_NAMES.index("card_txn_count_1m")])


def test_loading_fails_loudly_when_the_feature_list_does_not_match(trained_model):
    with pytest.raises(ModelLoadError, match="expects"):
        LightGBMScorer.load(
            trained_model.path, version="m", sha256=trained_model.sha256,
            features=FEATURE_NAMES[:-1],
            calibration=trained_model.calibration, known_features=FEATURE_NAMES,
        )  # fmt: skip


@pytest.mark.django_db
def test_promoting_a_version_changes_decisions_within_five_seconds(
    api, trained_model, other_trained_model, settings
):
    settings.MODEL_REFRESH_SECONDS = 1.0
    first, second = version_for(trained_model, "m-a"), version_for(other_trained_model, "m-b")
    model_promote(version=first)
    assert (
        api.post("/api/v1/decisions", factories.payload(), format="json").json()["model_version"]
        == "m-a"
    )

    model_promote(version=second)
    promoted_at, seen = time.monotonic(), "m-a"
    while seen != "m-b" and time.monotonic() - promoted_at < 5:
        time.sleep(0.2)
        seen = api.post("/api/v1/decisions", factories.payload(), format="json").json()[
            "model_version"
        ]

    assert seen == "m-b"
    assert ModelVersion.objects.get(is_active=True) == second


@pytest.mark.django_db
def test_a_deleted_model_file_makes_decisions_degraded_instead_of_failing(
    api, trained_model, tmp_path
):
    copy = tmp_path / "gone.txt"
    copy.write_bytes(trained_model.path.read_bytes())
    version = version_for(trained_model, "m-gone")
    version.path = str(copy)
    version.save()
    model_promote(version=version)
    copy.unlink()

    response = api.post("/api/v1/decisions", factories.payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["degraded"], body["score"]) == (True, None)
    assert Decision.objects.get().degraded


@pytest.mark.django_db
def test_an_account_takeover_is_stopped_with_reasons_naming_the_new_device_and_country(
    api, trained_model
):
    model_promote(version=version_for(trained_model, "m-a"))
    runtime.scorer_reset()
    # Daytime, the customer's usual hour: what stands out must be the device and country.
    start = (timezone.now() - timedelta(days=6)).replace(hour=14, minute=0)
    habit = {
        "customer_id": "c-ato", "card_id": "card-ato", "device_id": "phone", "country": "DE",
        "ip": "198.51.100.4", "merchant_id": "m-0100", "channel": "pos",
    }  # fmt: skip
    for day in range(5):
        body = factories.payload(
            **habit, amount="42.00", occurred_at=(start + timedelta(days=day)).isoformat()
        )
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201
    day_five = start + timedelta(days=5)
    normal = factories.payload(**habit, amount="39.00", occurred_at=day_five.isoformat())
    takeover = factories.payload(
        **{**habit, "device_id": "never-seen", "country": "NG", "ip": "203.0.113.9",
           "channel": "ecom", "merchant_id": "m-0003"}, amount="950.00",
        occurred_at=(day_five + timedelta(minutes=30)).isoformat(),
    )  # fmt: skip

    normal_outcome = api.post("/api/v1/decisions", normal, format="json").json()
    stopped = api.post("/api/v1/decisions", takeover, format="json").json()

    assert normal_outcome["outcome"] == "approve"
    assert stopped["outcome"] in {"review", "decline"}
    texts = " ".join(r["text"] for r in stopped["reasons"])
    assert "device never seen" in texts
    assert "(NG)" in texts
