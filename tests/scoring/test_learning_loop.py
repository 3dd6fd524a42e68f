"""The whole learning loop on PostgreSQL and Redis, Celery eager (issue 12, "done when" 1):
back-filled history and chargebacks → the retrain task → a challenger in shadow scores new
live decisions (stored) → compared → promoted → new decisions carry its version → rollback
restores the champion. Every step goes through what a deployment runs: the beat's tasks, the
decision and label API, the lifecycle's buttons and the comparison page.

Fixed dates (the API's back-fill window lifted); every label is long mature whatever day this
runs, so what is asserted holds by construction.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from fraudops.audit.models import AuditEntry
from scoring import serving, tasks
from scoring.models import Decision, Integrator, ModelStatus, ModelVersion, ShadowScore
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load
from tests import factories

START = datetime(2026, 1, 5, tzinfo=UTC)
BACKFILL_DAYS = 40  # history loaded in bulk before the first model
SECOND_DAYS = 10  # more history before the retrain that makes the challenger
LIVE_DAYS = 3  # traffic decided through the API while the challenger is in shadow


@pytest.fixture
def loop_settings(settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path / "models")
    settings.DECISION_MAX_AGE_DAYS = 100 * 365  # fixed past dates, whatever day it runs
    settings.RETRAIN_WINDOW_DAYS = 100 * 365
    settings.RETRAIN_EVERY_DAYS = 0  # every hourly check finds a retrain due
    settings.MODEL_REFRESH_SECONDS = 0  # the test's own process switches models at once
    settings.AUTO_PROMOTE = False  # a lead promotes, with a reason
    return settings


def lead_client() -> Client:
    client = Client()
    client.force_login(factories.user("lena", "lead"))
    return client


def manager_client() -> Client:
    person = factories.user("mia", "manager")
    client = Client()
    client.force_login(person)
    return client


def post_live(api, history) -> list[str]:
    """Decide ``history`` through the API, then post the chargeback of each fraud (weeks
    later) — the integrator never confirms the legit ones."""
    ids = []
    for txn in history:
        response = api.post("/api/v1/decisions", txn.payload, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["decision_id"])
    for txn in history:
        if txn.is_fraud:
            body = {
                "transaction_id": txn.payload["transaction_id"],
                "label": "fraud",
                "source": "chargeback",
                "reported_at": (txn.occurred_at + timedelta(days=21)).isoformat(),
            }
            response = api.post("/api/v1/labels", body, format="json")
            assert response.status_code == 201, response.content
    return ids


def decide_one(api) -> Decision:
    response = api.post("/api/v1/decisions", factories.payload(), format="json")
    assert response.status_code == 201, response.content
    return Decision.objects.get(pk=response.json()["decision_id"])


def promote(client: Client, version: ModelVersion, reason: str) -> None:
    response = client.post(f"/models/{version.pk}/promote", {"reason": reason})
    assert response.status_code == 302, response.content
    serving.scorer()  # this process switches now (MODEL_REFRESH_SECONDS=0)


@pytest.mark.django_db(transaction=True)
def test_history_and_chargebacks_become_a_challenger_that_is_shadowed_compared_promoted_and_rolled_back(  # noqa: E501
    postgres, redis_store, serve_with, eager, loop_settings, api
):
    serve_with(store=redis_store)  # the features live in the real Redis
    simulator = HistorySimulator(seed=7, customers=40)
    history = simulator.generate(start=START, days=BACKFILL_DAYS + SECOND_DAYS + LIVE_DAYS)
    cut = START + timedelta(days=BACKFILL_DAYS)
    live_from = cut + timedelta(days=SECOND_DAYS)
    integrator = Integrator.objects.create(name="simulator")
    lead = lead_client()

    # 1. A back-fill (bulk import, chargebacks for frauds only, weeks late); the beat's hourly
    #    check finds no model, queues the retrain, and the first version lands in shadow.
    history_load(integrator=integrator, history=[t for t in history if t.occurred_at < cut])
    assert tasks.retrain_check_task.apply().get() == "no model has been trained yet"
    first = ModelVersion.objects.get()
    assert first.status == ModelStatus.SHADOW
    promote(lead, first, "first model, trained on the back-fill")
    first.refresh_from_db()
    assert first.status == ModelStatus.CHAMPION

    # 2. More history; the next check retrains: a challenger in shadow beside the champion,
    #    measured against it on its own holdout.
    second = [t for t in history if cut <= t.occurred_at < live_from]
    history_load(integrator=integrator, history=second)
    reason = tasks.retrain_check_task.apply().get()
    assert reason is not None
    assert reason.startswith("scheduled: 0 days since ")
    challenger = ModelVersion.objects.get(status=ModelStatus.SHADOW)
    assert challenger.parent == first
    assert challenger.metrics["champion_on_holdout"]["version"] == first.name

    # 3. Live traffic through the API, decided by the champion; the shadow filler (the beat's
    #    task) scores every one with the challenger and stores it.
    live = [t for t in history if t.occurred_at >= live_from]
    live_ids = post_live(api, live)
    assert set(Decision.objects.filter(pk__in=live_ids).values_list("model_version", flat=True)) \
        == {first.name}  # fmt: skip
    assert tasks.shadow_scores_fill_task.apply().get() >= len(live_ids)
    shadowed = ShadowScore.objects.filter(model_version=challenger, decision_id__in=live_ids)
    assert shadowed.count() == len(live_ids)

    # 4. Compared: the evaluation task and the manager's page, on the labelled shadow window.
    evaluated = tasks.shadow_evaluate_task.apply().get()
    assert evaluated is not None
    assert evaluated.startswith(f"{challenger.name}: ")
    challenger.refresh_from_db()
    shadow = challenger.metrics["shadow"]
    assert shadow["champion_version"] == first.name
    page = manager_client().get("/models/compare")
    assert page.status_code == 200
    text = page.content.decode()
    assert first.name in text
    assert challenger.name in text
    assert "plotly" in text.lower()

    # 5. Promoted by a lead with a reason: new decisions carry the challenger's version.
    promote(lead, challenger, "better average precision in shadow")
    challenger.refresh_from_db()
    first.refresh_from_db()
    assert (challenger.status, first.status) == (ModelStatus.CHAMPION, ModelStatus.RETIRED)
    assert decide_one(api).model_version == challenger.name

    # 6. Rolled back in one action: the previous champion decides again.
    response = lead.post("/models/rollback", {"reason": "analysts see more false declines"})
    assert response.status_code == 302
    serving.scorer()
    first.refresh_from_db()
    assert first.status == ModelStatus.CHAMPION
    assert decide_one(api).model_version == first.name

    # Every change is recorded with who and why.
    changes = list(
        AuditEntry.objects.filter(action__startswith="model.")
        .order_by("pk")
        .values_list("action", "actor", "reason")
    )
    by_lead = [(action, reason) for action, actor, reason in changes if actor == "lena"]
    assert by_lead == [
        ("model.promote", "first model, trained on the back-fill"),
        ("model.retire", "better average precision in shadow"),
        ("model.promote", "better average precision in shadow"),
        ("model.retire", "analysts see more false declines"),
        ("model.rollback", "analysts see more false declines"),
    ]
    assert ("model.shadow_start", "system") in [(a, actor) for a, actor, _ in changes]
