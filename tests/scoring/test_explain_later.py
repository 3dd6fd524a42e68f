"""Approvals explained after the response, in batches (scoring/explain_later.py)."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring import decisions
from scoring.explain_later import PendingExplanation, approvals_explain
from scoring.models import Decision
from scoring.tasks import decisions_explain_pending_task
from tests import factories
from tests.scoring.test_cold_refresh import model_active, model_reason_codes

__all__ = ["model_active"]


def _approvals(api, count: int) -> list[Decision]:
    for _ in range(count):
        response = api.post("/api/v1/decisions", factories.payload(), format="json")
        assert response.json()["outcome"] == "approve"
    decisions = list(Decision.objects.select_related("transaction").order_by("created_at"))
    assert all(d.reasons_pending for d in decisions)
    return decisions


@pytest.mark.django_db
def test_a_batch_of_approvals_is_explained_in_one_update_without_reading_them_back(
    api, model_active
):
    # No on-commit callbacks run in this test: the approvals wait, as if still queued.
    pending = [PendingExplanation.of_stored(d) for d in _approvals(api, 5)]

    with CaptureQueriesContext(connection) as queries:
        explained = approvals_explain(pending)

    statements = [q["sql"].upper() for q in queries.captured_queries]
    assert explained == 5
    # One statement sent for the five rows (on SQLite an executemany, logged "5 times: ...").
    assert len([s for s in statements if "UPDATE" in s]) == 1
    assert not any("SELECT" in s for s in statements)
    for decision in Decision.objects.all():
        assert not decision.reasons_pending
        assert 1 <= len(model_reason_codes(decision)) <= 3


@pytest.mark.django_db
def test_an_approval_already_explained_is_left_as_it_is(api, model_active):
    first, second = _approvals(api, 2)
    Decision.objects.filter(pk=first.pk).update(reasons=[], reasons_pending=False)

    explained = approvals_explain(
        [PendingExplanation.of_stored(first), PendingExplanation.of_stored(second)]
    )

    assert explained == 1
    assert Decision.objects.get(pk=first.pk).reasons == []
    assert model_reason_codes(Decision.objects.get(pk=second.pk))


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the test runner's in-memory SQLite (shared cache) refuses a second writer at once "
    "(table locked) instead of waiting as the demo's file database does (busy timeout)",
)
@pytest.mark.django_db(transaction=True)
def test_approvals_sent_in_a_burst_are_all_explained_by_the_background_thread(
    api, model_active, settings
):
    settings.EXPLAIN_APPROVALS_IN_BACKGROUND = True
    for i in range(20):
        body = factories.payload(
            customer_id=f"cust-{i}", card_id=f"card-{i}", device_id=f"dev-{i}", ip=f"203.0.113.{i}"
        )
        response = api.post("/api/v1/decisions", body, format="json")
        assert response.json()["outcome"] == "approve", response.json()

    deadline = time.monotonic() + 5.0
    while Decision.objects.filter(reasons_pending=True).exists() and time.monotonic() < deadline:
        time.sleep(0.02)

    assert Decision.objects.count() == 20
    assert not Decision.objects.filter(reasons_pending=True).exists()
    assert all(model_reason_codes(d) for d in Decision.objects.all())


@pytest.mark.django_db
def test_on_a_worker_an_approval_queues_nothing_and_the_beat_task_explains_the_backlog(
    api, model_active, settings, django_capture_on_commit_callbacks
):
    settings.EXPLAIN_APPROVALS_ON_WORKER = True
    with django_capture_on_commit_callbacks() as callbacks:
        decisions = _approvals(api, 7)
    assert callbacks == []  # nothing for the API's process to do after commit

    with CaptureQueriesContext(connection) as queries:
        explained = decisions_explain_pending_task()

    assert explained == len(decisions)
    # The ids, the batch read back in one query with its transactions, one UPDATE.
    assert len(queries.captured_queries) <= 6
    for decision in Decision.objects.all():
        assert not decision.reasons_pending
        assert 1 <= len(model_reason_codes(decision)) <= 3
    assert decisions_explain_pending_task() == 0


@pytest.mark.django_db
def test_on_a_worker_the_drain_goes_on_batch_after_batch(api, model_active, settings, monkeypatch):
    settings.EXPLAIN_APPROVALS_ON_WORKER = True
    monkeypatch.setattr(decisions, "BATCH_LIMIT", 2)
    _approvals(api, 5)

    assert decisions.approvals_explain_drain() == 5
    assert not Decision.objects.filter(reasons_pending=True).exists()


def test_without_a_broker_approvals_are_never_left_to_a_worker():
    # The embedded default has no beat to explain them: its server's thread does.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="fraudops.settings", EXPLAIN_APPROVALS_ON_WORKER="1")
    out = subprocess.run(
        [sys.executable, "-c", "from fraudops import settings as s; "
         "print(s.CELERY_TASK_ALWAYS_EAGER, s.EXPLAIN_APPROVALS_ON_WORKER)"],
        env=env, capture_output=True, text=True, check=True, cwd=settings.BASE_DIR,
    ).stdout.split()  # fmt: skip
    assert out == ["True", "False"]
