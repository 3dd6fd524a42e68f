"""When a retrain is due, the Celery tasks around it, and auto-promotion from the labelled
shadow window (fixed dates throughout; the model files are never loaded here)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from scoring import retraining, tasks
from scoring.models import (
    Decision,
    DriftReport,
    LabelEvent,
    ModelStatus,
    ModelVersion,
    ShadowScore,
)
from scoring.retraining import retrain_due, shadow_evaluate
from scoring.training.dataset import NotEnoughLabels
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def version(name: str, *, status: str = ModelStatus.CANDIDATE, created_at: datetime = NOW):
    made = ModelVersion.objects.create(
        name=name, path="/nowhere", sha256="0" * 64, features=[], calibration={},
        trained_from=datetime(2026, 1, 1, tzinfo=UTC),
        trained_until=datetime(2026, 2, 1, tzinfo=UTC),
        data_hash="x", status=status, metrics={"average_precision": 0.5, "not_computable": {}},
    )  # fmt: skip
    ModelVersion.objects.filter(pk=made.pk).update(created_at=created_at)
    made.refresh_from_db()
    return made


def decisions(api, n: int) -> list[Decision]:
    for i in range(n):
        body = factories.payload(customer_id=f"c-{i}", occurred_at="2026-03-10T12:00:00+00:00")
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201
    return list(Decision.objects.select_related("transaction").order_by("transaction_id"))


def labels(decided: list[Decision], *, at: datetime, fraud=lambda i: i % 5 == 0) -> None:
    for i, decision in enumerate(decided):
        made = LabelEvent.objects.create(
            transaction=decision.transaction, label="fraud" if fraud(i) else "legit",
            source="chargeback" if fraud(i) else "integrator", reported_at=at,
        )  # fmt: skip
        LabelEvent.objects.filter(pk=made.pk).update(created_at=at)


@pytest.fixture
def lifted(settings):
    """Transactions of fixed past dates are accepted, whatever day the suite runs."""
    settings.DECISION_MAX_AGE_DAYS = 100 * 365


# --- retrain_due --------------------------------------------------------------------------


def test_with_no_model_at_all_the_first_retrain_is_due():
    assert retrain_due(now=NOW) == "no model has been trained yet"


def test_a_retrain_is_due_a_week_after_the_newest_version(settings):
    settings.RETRAIN_EVERY_DAYS = 7
    version("lgbm-old", created_at=NOW - timedelta(days=7))

    assert retrain_due(now=NOW) == "scheduled: 7 days since lgbm-old"
    assert retrain_due(now=NOW - timedelta(hours=1)) is None


def test_the_newest_version_whatever_its_status_starts_the_clock(settings):
    settings.RETRAIN_EVERY_DAYS = 7
    version("lgbm-old", status=ModelStatus.CHAMPION, created_at=NOW - timedelta(days=30))
    version("lgbm-rejected", status=ModelStatus.REJECTED, created_at=NOW - timedelta(days=2))

    assert retrain_due(now=NOW) is None


def test_enough_new_labels_make_a_retrain_due_early(api, lifted, settings):
    settings.RETRAIN_MIN_NEW_LABELS = 6
    version("lgbm-1", created_at=NOW - timedelta(days=2))
    decided = decisions(api, 6)
    labels(decided[:5], at=NOW - timedelta(days=1))

    assert retrain_due(now=NOW) is None  # five labels since lgbm-1

    labels(decided[5:], at=NOW - timedelta(hours=1))

    assert retrain_due(now=NOW) == "early: 6 new labels since lgbm-1"


def test_labels_that_arrived_before_the_newest_version_do_not_count(api, lifted, settings):
    settings.RETRAIN_MIN_NEW_LABELS = 3
    labels(decisions(api, 3), at=NOW - timedelta(days=3))
    version("lgbm-1", created_at=NOW - timedelta(days=2))

    assert retrain_due(now=NOW) is None


def drift_report(*, at: datetime, alerts: list[str], shifted: list[str] | None = None):
    report = DriftReport.objects.create(
        reference_from=at - timedelta(days=8), reference_until=at - timedelta(days=1),
        current_from=at - timedelta(days=1), current_until=at, reference_decisions=100,
        current_decisions=100, psi={"score": 0.4 if alerts else 0.01, "amount": 0.3},
        shifted=alerts if shifted is None else shifted, alerts=alerts,
    )  # fmt: skip
    DriftReport.objects.filter(pk=report.pk).update(created_at=at)
    report.refresh_from_db()
    return report


def test_a_drift_alert_makes_a_retrain_due_early_only_with_retrain_on_drift(settings):
    version("lgbm-1", created_at=NOW - timedelta(days=2))
    drift_report(at=NOW - timedelta(days=1), alerts=["score", "amount"])

    settings.RETRAIN_ON_DRIFT = False
    assert retrain_due(now=NOW) is None
    settings.RETRAIN_ON_DRIFT = True
    assert retrain_due(now=NOW) == "early: drift in score, amount since lgbm-1"


def test_a_shift_that_raised_no_alert_does_not_make_a_retrain_due(settings):
    settings.RETRAIN_ON_DRIFT = True
    version("lgbm-1", created_at=NOW - timedelta(days=2))
    drift_report(at=NOW - timedelta(days=1), alerts=[], shifted=["ip_customers_30d"])
    drift_report(at=NOW - timedelta(days=3), alerts=["score"])  # before lgbm-1

    assert retrain_due(now=NOW) is None


# --- the Celery tasks -------------------------------------------------------------------


def recorder(queued: list[str]):
    """A stand-in for the service that records the reason it was called with."""

    def retrain(**kwargs):
        queued.append(kwargs["reason"])
        return SimpleNamespace(challenger=SimpleNamespace(name="lgbm-new"))

    return retrain


def test_the_retrain_task_retries_a_failure_and_reports_too_few_labels_without_retrying(
    eager, monkeypatch
):
    calls = []
    real = retraining.model_retrain

    def failing_once(**kwargs):
        calls.append(kwargs["reason"])
        if len(calls) == 1:
            raise OSError("the model directory is not writable")
        return real(**kwargs)  # an empty database: NotEnoughLabels, not retried

    monkeypatch.setattr(tasks, "model_retrain", failing_once)

    result = tasks.model_retrain_task.apply(args=("scheduled",)).get()

    assert calls == ["scheduled", "scheduled"]
    assert result.startswith("not retrained (scheduled): ")
    with pytest.raises(NotEnoughLabels):
        real(now=NOW, reason="scheduled")


def test_the_retrain_task_gives_up_after_its_retries(eager, monkeypatch):
    calls = []

    def failing(**kwargs):
        calls.append(1)
        raise OSError("the disk is full")

    monkeypatch.setattr(tasks, "model_retrain", failing)

    with pytest.raises(OSError, match="the disk is full"):
        tasks.model_retrain_task.apply(args=("scheduled",)).get()
    assert len(calls) == 1 + (tasks.model_retrain_task.max_retries or 0)


def test_the_hourly_check_queues_a_retrain_after_commit_when_one_is_due(
    eager, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[str] = []
    monkeypatch.setattr(tasks, "model_retrain", recorder(queued))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reason = tasks.retrain_check_task.apply().get()
    assert reason == "no model has been trained yet"
    assert queued == []  # not before the commit
    for callback in callbacks:
        callback()
    assert queued == ["no model has been trained yet"]


def test_a_drift_alert_queues_an_early_retrain_only_with_retrain_on_drift(
    eager, monkeypatch, settings, django_capture_on_commit_callbacks
):
    report = drift_report(at=NOW, alerts=["score"])
    monkeypatch.setattr(tasks, "drift_check", lambda: report)
    queued: list[str] = []
    monkeypatch.setattr(tasks, "model_retrain", recorder(queued))

    settings.RETRAIN_ON_DRIFT = False
    with django_capture_on_commit_callbacks(execute=True):
        tasks.drift_check_task.apply().get()
    settings.RETRAIN_ON_DRIFT = True
    with django_capture_on_commit_callbacks(execute=True):
        tasks.drift_check_task.apply().get()

    assert queued == ["early: drift in score"]


# --- shadow evaluation and auto-promotion ---------------------------------------------------


def shadow_window(api, *, champion_good: float, challenger_good: float, n: int = 40):
    """``n`` live decisions scored by the champion, each also scored in shadow by the
    challenger; every fifth a fraud. A model's ``good`` is the share of frauds it scores high
    (the rest it scores like the legitimate ones)."""
    champion = version("lgbm-champion", status=ModelStatus.CHAMPION)
    challenger = version("lgbm-challenger", status=ModelStatus.SHADOW)
    decided = decisions(api, n)
    frauds = [d for i, d in enumerate(decided) if i % 5 == 0]

    def score(decision: Decision, good: float) -> float:
        if decision not in frauds:
            return 0.1
        return 0.9 if frauds.index(decision) < good * len(frauds) else 0.1

    for decision in decided:
        Decision.objects.filter(pk=decision.pk).update(
            model_version=champion.name, score=score(decision, champion_good)
        )
        ShadowScore.objects.create(
            decision=decision, model_version=challenger,
            score=score(decision, challenger_good), outcome="approve",
        )  # fmt: skip
    labels(decided, at=NOW - timedelta(days=1))
    return champion, challenger


@pytest.fixture
def auto_promote(settings):
    settings.AUTO_PROMOTE = True
    settings.AUTO_PROMOTE_MARGIN = 0.05
    settings.AUTO_PROMOTE_MIN_LABELLED = 40
    settings.AUTO_PROMOTE_CALIBRATION_SLACK = 0.5  # these toy scores are far from calibrated


def test_a_challenger_past_the_margin_on_enough_labelled_decisions_is_promoted(
    api, lifted, auto_promote
):
    champion, challenger = shadow_window(api, champion_good=0.5, challenger_good=1.0)

    evaluation = shadow_evaluate(now=NOW)

    assert evaluation is not None
    assert (evaluation.comparison.labelled, evaluation.comparison.fraud) == (40, 8)
    assert evaluation.comparison.challenger.average_precision == 1.0
    assert evaluation.promoted
    challenger.refresh_from_db()
    champion.refresh_from_db()
    assert (challenger.status, champion.status) == (ModelStatus.CHAMPION, ModelStatus.RETIRED)
    assert challenger.metrics["shadow"]["promotable"] is True
    assert challenger.metrics["shadow"]["labelled"] == 40


def test_a_challenger_below_the_margin_stays_in_shadow(api, lifted, auto_promote):
    _, challenger = shadow_window(api, champion_good=0.5, challenger_good=0.5)

    evaluation = shadow_evaluate(now=NOW)

    assert evaluation is not None
    assert not evaluation.promoted
    assert "needed" in evaluation.why
    challenger.refresh_from_db()
    assert challenger.status == ModelStatus.SHADOW


def test_too_few_labelled_decisions_keep_the_challenger_in_shadow(
    api, lifted, auto_promote, settings
):
    settings.AUTO_PROMOTE_MIN_LABELLED = 41
    _, challenger = shadow_window(api, champion_good=0.5, challenger_good=1.0)

    evaluation = shadow_evaluate(now=NOW)

    assert evaluation is not None
    assert evaluation.why == "40 labelled shadow decisions, 41 needed"
    challenger.refresh_from_db()
    assert challenger.status == ModelStatus.SHADOW


def test_a_worse_calibrated_challenger_stays_in_shadow(api, lifted, auto_promote, settings):
    settings.AUTO_PROMOTE_CALIBRATION_SLACK = 0.0
    _, challenger = shadow_window(api, champion_good=0.5, challenger_good=1.0)
    # Its fraud scores 0.9 where the champion's are lower on average: the same ranking gain,
    # but scores of 0.9 for 100% fraud are closer; push the legitimate ones up instead.
    ShadowScore.objects.filter(model_version=challenger, score=0.1).update(score=0.45)

    evaluation = shadow_evaluate(now=NOW)

    assert evaluation is not None
    assert "worse calibrated" in evaluation.why
    assert not evaluation.promoted
    challenger.refresh_from_db()
    assert challenger.status == ModelStatus.SHADOW


def test_with_auto_promotion_off_a_promotable_challenger_is_only_reported(
    api, lifted, auto_promote, settings
):
    settings.AUTO_PROMOTE = False
    _, challenger = shadow_window(api, champion_good=0.5, challenger_good=1.0)

    evaluation = shadow_evaluate(now=NOW)

    assert evaluation is not None
    assert evaluation.promotable
    assert not evaluation.promoted
    challenger.refresh_from_db()
    assert challenger.status == ModelStatus.SHADOW


def test_decisions_labelled_only_after_the_moment_are_not_in_the_window(api, lifted, auto_promote):
    shadow_window(api, champion_good=0.5, challenger_good=1.0)

    evaluation = shadow_evaluate(now=NOW - timedelta(days=2))

    assert evaluation is not None
    assert evaluation.comparison.labelled == 0
    assert not evaluation.promoted


def test_without_a_challenger_in_shadow_there_is_nothing_to_evaluate():
    version("lgbm-champion", status=ModelStatus.CHAMPION)

    assert shadow_evaluate(now=NOW) is None
