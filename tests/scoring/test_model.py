"""The LightGBM model in the synchronous path: loading, scoring, explaining, swapping."""

import time
from datetime import timedelta
from pathlib import Path

import lightgbm
import numpy as np
import pytest
import shap

from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import LightGBMScorer, ModelLoadError
from scoring.lifecycle import ModelNotPromotable, model_promote
from scoring.models import Decision, ModelStatus, ModelVersion
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
    model_promote(version=first, actor=None, reason="test")
    assert (
        api.post("/api/v1/decisions", factories.payload(), format="json").json()["model_version"]
        == "m-a"
    )

    model_promote(version=second, actor=None, reason="test")
    promoted_at, seen = time.monotonic(), "m-a"
    while seen != "m-b" and time.monotonic() - promoted_at < 5:
        time.sleep(0.2)
        seen = api.post("/api/v1/decisions", factories.payload(), format="json").json()[
            "model_version"
        ]

    assert seen == "m-b"
    assert ModelVersion.objects.get(status=ModelStatus.CHAMPION) == second


@pytest.mark.django_db
def test_a_deleted_model_file_makes_decisions_degraded_instead_of_failing(
    api, trained_model, tmp_path
):
    copy = tmp_path / "gone.txt"
    copy.write_bytes(trained_model.path.read_bytes())
    version = version_for(trained_model, "m-gone")
    version.path = str(copy)
    version.save()
    model_promote(version=version, actor=None, reason="test")
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
    model_promote(version=version_for(trained_model, "m-a"), actor=None, reason="test")
    # Daytime, the customer's usual hour: what stands out must be the device and country.
    start = factories.midnight_utc(6) + timedelta(hours=14)
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


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def tampered(data: bytes) -> bytes:
    """The same size, one leaf value's leading digit changed: LightGBM parses it happily."""
    text = data.decode()
    at = text.index("leaf_value=") + len("leaf_value=")
    at += text[at] == "-"
    digit = text[at]
    return (text[:at] + ("7" if digit != "7" else "3") + text[at + 1 :]).encode()


def test_a_tampered_file_is_one_lightgbm_itself_would_serve(trained_model):
    data = trained_model.path.read_bytes()

    changed = lightgbm.Booster(model_str=tampered(data).decode())

    assert len(tampered(data)) == len(data)
    assert changed.num_trees() == lightgbm.Booster(model_str=data.decode()).num_trees()


@pytest.mark.parametrize("damage", [truncated, tampered])
def test_loading_refuses_a_file_whose_sha256_is_not_the_registered_one(
    trained_model, tmp_path, damage
):
    copy = tmp_path / "model.txt"
    copy.write_bytes(damage(trained_model.path.read_bytes()))

    with pytest.raises(ModelLoadError, match=r"refused.*truncated or changed"):
        LightGBMScorer.load(
            copy, version="m", sha256=trained_model.sha256, features=FEATURE_NAMES,
            calibration=trained_model.calibration, known_features=FEATURE_NAMES,
        )  # fmt: skip


def promoted_copy(model, tmp_path, name: str) -> tuple[ModelVersion, Path]:
    copy = tmp_path / f"{name}.txt"
    copy.write_bytes(model.path.read_bytes())
    version = version_for(model, name)
    version.path = str(copy)
    version.save()
    model_promote(version=version, actor=None, reason="test")
    return version, copy


@pytest.mark.django_db
@pytest.mark.parametrize("damage", [truncated, tampered])
def test_a_damaged_model_file_gives_degraded_decisions_and_healthz_says_why(
    api, trained_model, tmp_path, settings, cold_published, caplog, damage
):
    settings.MODEL_REFRESH_SECONDS = 0  # every decision checks the model again: still one log
    _, copy = promoted_copy(trained_model, tmp_path, "m-damaged")
    copy.write_bytes(damage(copy.read_bytes()))

    responses = [
        api.post("/api/v1/decisions", factories.payload(), format="json") for _ in range(3)
    ]
    health = api.get("/healthz")

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert {
        (r.json()["degraded"], r.json()["model_version"], r.json()["score"]) for r in responses
    } == {(True, None, None)}
    assert health.status_code == 200
    model = health.json()["model"]
    assert (health.json()["status"], model["version"], model["state"]) == (
        "degraded", "m-damaged", "degraded",
    )  # fmt: skip
    assert "refused" in model["reason"]
    refusals = [
        r for r in caplog.records if r.name == "scoring.serving" and "not loaded" in r.message
    ]
    assert len(refusals) == 1


@pytest.mark.django_db
def test_putting_the_right_file_back_heals_the_worker_without_a_restart(
    api, trained_model, tmp_path, settings, cold_published
):
    settings.MODEL_REFRESH_SECONDS = 0
    _, copy = promoted_copy(trained_model, tmp_path, "m-healed")
    good = copy.read_bytes()
    copy.write_bytes(truncated(good))
    assert api.post("/api/v1/decisions", factories.payload(), format="json").json()["degraded"]

    copy.write_bytes(good)
    body = api.post("/api/v1/decisions", factories.payload(), format="json").json()

    assert (body["degraded"], body["model_version"]) == (False, "m-healed")


@pytest.mark.django_db
def test_a_version_without_a_registered_sha256_cannot_be_promoted(trained_model):
    version = version_for(trained_model, "m-legacy")
    version.sha256 = ""
    version.save()

    with pytest.raises(ModelNotPromotable, match="no SHA-256"):
        model_promote(version=version, actor=None, reason="test")

    assert not ModelVersion.objects.filter(status=ModelStatus.CHAMPION).exists()
