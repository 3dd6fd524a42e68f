"""/healthz: whether decisions can be made, and what they are made with."""

import pytest

from scoring.scorer import ConstantScorer

pytestmark = pytest.mark.django_db


def test_a_fresh_install_is_healthy_but_degraded_until_cold_features_are_published(
    anonymous_api,
):
    response = anonymous_api.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["feature_store"]) == ("degraded", "ok", "ok")
    assert body["model"] == {"version": None, "state": "none", "reason": None}
    assert body["cold_features"] == {"published": False, "as_of": None, "error": None}


def test_with_a_model_and_a_cold_generation_healthz_is_ok_and_names_both(
    anonymous_api, cold_published, serve_with
):
    serve_with(scorer=ConstantScorer(0.1, version="m-7"))

    body = anonymous_api.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["model"] == {"version": "m-7", "state": "loaded", "reason": None}
    assert body["cold_features"] == {
        "published": True, "as_of": cold_published.isoformat(), "error": None,
    }  # fmt: skip
