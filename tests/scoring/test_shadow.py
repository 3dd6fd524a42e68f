"""Shadow scoring: a challenger in shadow scores every live decision off the request path,
from the features the decision stored, with the outcome it would have given."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from rules.policy import Thresholds
from rules.services import thresholds_set
from scoring import shadow
from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import LightGBMScorer
from scoring.lifecycle import model_promote
from scoring.models import Decision, ModelStatus, ModelVersion, ShadowScore
from scoring.shadow import (
    IN_FLIGHT_MARGIN,
    LATE_COMMIT_MARGIN,
    SWEEP_EVERY,
    Cursors,
    shadow_scores_drain,
    shadow_scores_fill,
)
from scoring.shadow_reads import shadow_pairs
from scoring.tasks import shadow_scores_fill_task
from tests import factories
from tests.scoring.test_model import version_for

AMOUNTS = ["12.00", "80.00", "450.00", "1900.00", "7.50", "3200.00"]


def shadow_start(version: ModelVersion) -> ModelVersion:
    # Putting a version in shadow is another change's service; the fill reads only this.
    version.status = ModelStatus.SHADOW
    version.status_changed_at = timezone.now()
    version.save(update_fields=["status", "status_changed_at"])
    return version


def decide(api, **overrides) -> Decision:
    response = api.post("/api/v1/decisions", factories.payload(**overrides), format="json")
    assert response.status_code == 201, response.content
    return Decision.objects.get(pk=response.json()["decision_id"])


def decide_many(api, amounts=AMOUNTS) -> list[Decision]:
    return [decide(api, amount=amount, card_id=f"card-{i % 3}") for i, amount in enumerate(amounts)]


def loaded(model) -> LightGBMScorer:
    return LightGBMScorer.load(
        model.path, version="direct", sha256=model.sha256, features=FEATURE_NAMES,
        calibration=model.calibration, known_features=FEATURE_NAMES,
    )  # fmt: skip


@pytest.fixture
def champion(trained_model) -> ModelVersion:
    version = version_for(trained_model, "m-champion")
    model_promote(version=version, actor=None, reason="test champion")
    return version


@pytest.fixture
def challenger(other_trained_model) -> ModelVersion:
    return version_for(other_trained_model, "m-challenger")


def scores_of(version: ModelVersion) -> dict[object, tuple[float, str]]:
    return {
        s.decision_id: (s.score, s.outcome)
        for s in ShadowScore.objects.filter(model_version=version)
    }


@pytest.mark.django_db
def test_the_fill_stores_one_score_per_decision_with_the_outcome_its_score_gives(
    api, champion, challenger, other_trained_model
):
    # Low thresholds, so that the challenger's scores give every outcome, not only approvals.
    thresholds_set(review_at=0.02, decline_at=0.2)
    shadow_start(challenger)
    decisions = decide_many(api)

    assert shadow_scores_fill(batch=500) == len(decisions)

    direct = loaded(other_trained_model)
    stored = scores_of(challenger)
    assert set(stored) == {d.pk for d in decisions}
    for decision in decisions:
        expected = direct.predict(decision.features)
        assert expected is not None
        score, outcome = stored[decision.pk]
        assert score == pytest.approx(expected.probability, abs=1e-6)
        assert outcome == Thresholds(**decision.thresholds).outcome(score)
    assert len({outcome for _, outcome in stored.values()}) > 1
    # The champion decided them all: it has no shadow score of its own to add.
    assert not ShadowScore.objects.filter(model_version=champion).exists()


@pytest.mark.django_db
def test_a_review_rule_raises_the_challengers_approval_to_review_as_in_a_decision(
    api, champion, challenger
):
    thresholds_set(review_at=0.99, decline_at=1.0)
    factories.rule("over_twenty", "amount > 20", "review")
    shadow_start(challenger)
    reviewed, approved = decide(api, amount="25.00"), decide(api, amount="15.00")

    shadow_scores_fill()

    stored = scores_of(challenger)
    assert max(score for score, _ in stored.values()) < 0.99  # left to the rule
    assert (reviewed.outcome, stored[reviewed.pk][1]) == ("review", "review")
    assert (approved.outcome, stored[approved.pk][1]) == ("approve", "approve")


@pytest.mark.django_db
def test_decisions_the_rules_settled_are_scored_by_both_models_and_keep_their_outcome(
    api, champion, challenger
):
    thresholds_set(review_at=0.0, decline_at=0.0)  # any score would decline
    factories.rule("vip", "customer_id == 'cust-vip'", "allow")
    shadow_start(challenger)
    allowed = decide(api, customer_id="cust-vip", amount="5000.00")
    assert (allowed.outcome, allowed.score, allowed.model_version) == ("approve", None, None)

    assert shadow_scores_fill() == 2  # the challenger's score, and the champion's

    for version in (challenger, champion):
        assert scores_of(version)[allowed.pk][1] == "approve"


@pytest.mark.django_db
def test_running_the_fill_twice_stores_the_same_rows(api, champion, challenger):
    shadow_start(challenger)
    decide_many(api)
    shadow_scores_fill()
    first = sorted(ShadowScore.objects.values_list("pk", "decision_id", "score"))

    assert shadow_scores_fill() == 0
    assert sorted(ShadowScore.objects.values_list("pk", "decision_id", "score")) == first


@pytest.mark.django_db
def test_decisions_made_before_the_shadow_started_are_not_scored(api, champion, challenger):
    before = decide_many(api, AMOUNTS[:3])
    shadow_start(challenger)
    after = decide_many(api, AMOUNTS[3:])

    shadow_scores_fill()

    assert set(scores_of(challenger)) == {d.pk for d in after}
    assert not set(scores_of(challenger)) & {d.pk for d in before}


@pytest.mark.django_db
def test_a_canary_the_challenger_decided_is_scored_by_the_champion(
    api, champion, challenger, trained_model
):
    shadow_start(challenger)
    canary, other = decide(api, amount="300.00"), decide(api, amount="40.00")
    # Canary routing is another change: a decision the challenger decided records its name.
    Decision.objects.filter(pk=canary.pk).update(model_version=challenger.name, score=0.5)

    shadow_scores_fill()

    assert set(scores_of(challenger)) == {other.pk}
    champion_score = scores_of(champion)[canary.pk][0]
    expected = loaded(trained_model).predict(canary.features)
    assert expected is not None
    assert champion_score == pytest.approx(expected.probability, abs=1e-6)


@pytest.mark.django_db
def test_without_a_shadow_the_fill_does_nothing(api, champion):
    decide_many(api)

    assert shadow_scores_fill() == 0
    assert not ShadowScore.objects.exists()


@pytest.mark.django_db
def test_the_request_path_writes_no_shadow_score(
    api, champion, challenger, django_capture_on_commit_callbacks
):
    shadow_start(challenger)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        decide_many(api)

    assert Decision.objects.count() == len(AMOUNTS)
    assert not ShadowScore.objects.exists()
    # Nothing queued per decision either (an approval's explanation is all there is).
    assert all("shadow" not in repr(callback) for callback in callbacks)


@pytest.mark.django_db
def test_a_corrupt_shadow_model_file_is_logged_and_the_fill_goes_on(
    api, champion, other_trained_model, tmp_path, caplog
):
    copy = tmp_path / "corrupt.txt"
    copy.write_bytes(other_trained_model.path.read_bytes())
    challenger = version_for(other_trained_model, "m-corrupt")
    challenger.path = str(copy)
    challenger.save()
    shadow_start(challenger)
    decide_many(api)
    # An hour old, older than any cursor a fill may leave: a failed fill must leave none.
    hour_ago = timezone.now() - timedelta(hours=1)
    ModelVersion.objects.filter(pk=challenger.pk).update(
        status_changed_at=hour_ago - timedelta(minutes=1)
    )
    Decision.objects.update(created_at=hour_ago)
    copy.write_bytes(b"tree\nnot a model at all")

    with caplog.at_level(logging.ERROR):
        assert shadow_scores_fill() == 0

    assert not ShadowScore.objects.exists()
    assert any("m-corrupt" in record.getMessage() for record in caplog.records)
    # The right file back: the next fill scores them.
    copy.write_bytes(other_trained_model.path.read_bytes())
    assert shadow_scores_fill() == len(AMOUNTS)


@pytest.mark.django_db
def test_a_complete_fill_leaves_a_cursor_the_next_one_starts_from(api, champion, challenger):
    shadow_start(challenger)
    ModelVersion.objects.filter(pk=challenger.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=2)
    )
    decide_many(api, AMOUNTS[:2])
    assert shadow_scores_fill() == 2
    fresh = decide(api, amount="60.00")
    # Older than the cursor (as no decision committed after a complete fill can be).
    backdated = decide(api, amount="70.00")
    Decision.objects.filter(pk=backdated.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert shadow_scores_fill() == 1
    assert fresh.pk in scores_of(challenger)
    assert backdated.pk not in scores_of(challenger)
    cache.clear()  # the cursor is only a shortcut: without it the whole window is scanned
    assert shadow_scores_fill() == 1
    assert backdated.pk in scores_of(challenger)


@pytest.mark.django_db
def test_a_decision_committed_late_is_left_by_the_next_fill_and_scored_by_the_sweep(
    api, champion, challenger, monkeypatch
):
    shadow_start(challenger)
    ModelVersion.objects.filter(pk=challenger.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=2)
    )
    decide_many(api, AMOUNTS[:2])
    assert shadow_scores_fill() == 2  # from the window's start: a sweep
    # Made 30 s ago but committed only now: before the forward cursor, within the late margin.
    late = decide(api, amount="70.00")
    Decision.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(seconds=30))
    fresh = decide(api, amount="60.00")

    assert shadow_scores_fill() == 1  # between sweeps: the last seconds only
    assert fresh.pk in scores_of(challenger)
    assert late.pk not in scores_of(challenger)
    monkeypatch.setattr(shadow, "SWEEP_EVERY", timedelta(0))  # the minute has passed
    assert shadow_scores_fill() == 1
    assert late.pk in scores_of(challenger)


def test_the_cursors_sweep_once_the_complete_one_is_a_minute_older_than_a_sweep_leaves_it():
    start = timezone.now()
    cursors = Cursors(start, start).after(start, swept=True)
    assert cursors == Cursors(start - LATE_COMMIT_MARGIN, start - IN_FLIGHT_MARGIN)

    later = start + SWEEP_EVERY - timedelta(seconds=1)
    assert cursors.since(later) == (start - IN_FLIGHT_MARGIN, False)
    cursors = cursors.after(later, swept=False)
    assert cursors == Cursors(start - LATE_COMMIT_MARGIN, later - IN_FLIGHT_MARGIN)
    assert cursors.since(start + SWEEP_EVERY) == (start - LATE_COMMIT_MARGIN, True)


@pytest.mark.django_db
def test_the_task_drains_the_backlog_batch_after_batch(api, champion, challenger, settings):
    settings.SHADOW_SCORE_BATCH = 2
    shadow_start(challenger)
    decide_many(api)

    assert shadow_scores_fill_task() == len(AMOUNTS)
    assert shadow_scores_drain(batch=2) == 0


@pytest.mark.django_db
def test_the_pairs_give_each_decision_both_scores_and_outcomes(api, champion, challenger):
    shadow_start(challenger)
    decisions = decide_many(api, AMOUNTS[:3])
    canary = decisions[0]
    Decision.objects.filter(pk=canary.pk).update(
        model_version=challenger.name, score=0.42, outcome="approve"
    )
    shadow_scores_fill()
    unscored = decide_many(api, AMOUNTS[:1])  # the fill has not come round to it yet

    pairs = shadow_pairs(champion=champion, challenger=challenger, moment=timezone.now())

    assert [p.decision_id for p in pairs] == [d.pk for d in decisions]
    assert unscored[0].pk not in {p.decision_id for p in pairs}
    by_id = {p.decision_id: p for p in pairs}
    as_canary = by_id[canary.pk]
    assert (as_canary.challenger_score, as_canary.challenger_outcome) == (0.42, "approve")
    assert as_canary.champion_score == scores_of(champion)[canary.pk][0]
    for decision in decisions[1:]:
        pair = by_id[decision.pk]
        assert (pair.champion_score, pair.champion_outcome) == (decision.score, decision.outcome)
        assert (pair.challenger_score, pair.challenger_outcome) == scores_of(challenger)[
            decision.pk
        ]
        assert (pair.amount, pair.occurred_at) == (
            float(decision.transaction.amount),
            decision.transaction.occurred_at,
        )
