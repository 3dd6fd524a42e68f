"""Workers follow the lifecycle: a rollback, a canary and the kill switch change which model
decides live traffic within 5 s, and each decision records the model that decided it."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring import serving
from scoring.canary import decided_by_challenger
from scoring.lifecycle import (
    model_canary_set,
    model_kill_switch,
    model_promote,
    model_rollback,
    model_shadow_start,
)
from scoring.models import Decision, ModelVersion
from tests import factories
from tests.scoring.test_model import version_for

pytestmark = pytest.mark.django_db


def decided_by(api) -> str:
    response = api.post("/api/v1/decisions", factories.payload(), format="json")
    assert response.status_code == 201
    return str(response.json()["model_version"])


def within_five_seconds(api, wanted: str) -> str:
    changed_at, seen = time.monotonic(), decided_by(api)
    while seen != wanted and time.monotonic() - changed_at < 5:
        time.sleep(0.2)
        seen = decided_by(api)
    return seen


@pytest.fixture
def champion_and_challenger(trained_model, other_trained_model, settings):
    """m-a the champion, m-b in shadow (no canary share yet)."""
    settings.MODEL_REFRESH_SECONDS = 1.0
    champion = version_for(trained_model, "m-a")
    challenger = version_for(other_trained_model, "m-b")
    model_promote(version=champion, actor=None, reason="test")
    model_shadow_start(version=challenger, actor=None, reason="test")
    return champion, challenger


def test_rollback_brings_the_previous_champions_decisions_back_within_five_seconds(
    api, trained_model, other_trained_model, settings
):
    settings.MODEL_REFRESH_SECONDS = 1.0
    first, second = version_for(trained_model, "m-a"), version_for(other_trained_model, "m-b")
    model_promote(version=first, actor=None, reason="test")
    model_promote(version=second, actor=None, reason="test")
    assert decided_by(api) == "m-b"

    model_rollback(actor=None, reason="m-b is worse")

    assert within_five_seconds(api, "m-a") == "m-a"
    assert Decision.objects.filter(model_version="m-a").exists()


def test_a_shadow_without_a_canary_share_decides_nothing(api, champion_and_challenger):
    assert {decided_by(api) for _ in range(20)} == {"m-a"}


def test_a_full_canary_lets_the_challenger_decide_and_the_kill_switch_sends_all_back(
    api, champion_and_challenger
):
    _, challenger = champion_and_challenger
    assert decided_by(api) == "m-a"

    model_canary_set(version=challenger, share=1.0, actor=None, reason="test")
    assert within_five_seconds(api, "m-b") == "m-b"
    assert Decision.objects.filter(model_version="m-b").exists()

    model_kill_switch(actor=None, reason="test")
    assert within_five_seconds(api, "m-a") == "m-a"
    assert {decided_by(api) for _ in range(10)} == {"m-a"}


def test_a_half_canary_decides_the_transactions_its_hash_gives_it(
    api, issued, champion_and_challenger
):
    _, challenger = champion_and_challenger
    model_canary_set(version=challenger, share=0.5, actor=None, reason="test")
    scope = str(issued.api_key.integrator_id)

    for _ in range(30):
        body = factories.payload()
        answer = api.post("/api/v1/decisions", body, format="json").json()
        expected = decided_by_challenger(
            scope=scope, transaction_id=body["transaction_id"], share=0.5
        )
        assert answer["model_version"] == ("m-b" if expected else "m-a")
    versions = set(Decision.objects.values_list("model_version", flat=True))
    assert versions == {"m-a", "m-b"}


def test_a_retry_is_decided_by_the_same_model_as_the_first_attempt(api, champion_and_challenger):
    _, challenger = champion_and_challenger
    model_canary_set(version=challenger, share=0.5, actor=None, reason="test")
    bodies = [factories.payload() for _ in range(10)]

    first = [
        api.post("/api/v1/decisions", b, format="json").json()["model_version"] for b in bodies
    ]
    again = [
        api.post("/api/v1/decisions", b, format="json").json()["model_version"] for b in bodies
    ]

    assert first == again


def test_a_challenger_that_does_not_load_leaves_its_share_to_the_champion(
    api, champion_and_challenger, tmp_path
):
    _, challenger = champion_and_challenger
    ModelVersion.objects.filter(pk=challenger.pk).update(path=str(tmp_path / "gone.txt"))
    model_canary_set(version=challenger, share=1.0, actor=None, reason="test")

    answers = [
        api.post("/api/v1/decisions", factories.payload(), format="json").json() for _ in range(5)
    ]

    assert {a["model_version"] for a in answers} == {"m-a"}
    assert all(a["score"] is not None for a in answers)


def test_the_deciding_scorer_asks_the_database_once_per_refresh_not_per_transaction(
    champion_and_challenger, settings
):
    _, challenger = champion_and_challenger
    model_canary_set(version=challenger, share=0.5, actor=None, reason="test")
    settings.MODEL_REFRESH_SECONDS = 60.0

    def pick(n: int) -> str | None:
        return serving.deciding_scorer(scope="1", transaction_id=f"t-{n}").version

    with CaptureQueriesContext(connection) as queries:
        chosen = {pick(n) for n in range(200)}

    assert chosen == {"m-a", "m-b"}
    assert len(queries) == 1  # the first call's check: champion and shadow in one query
