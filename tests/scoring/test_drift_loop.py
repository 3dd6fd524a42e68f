"""Drift closes the loop (issue 12, "done when" 2): with a simulation drifted at a fixed date,
the drift check flags the pattern's features and the retrained challenger beats the stale
champion on the post-drift holdout. Also: the alert's banner and Prometheus metric, and the
simulator's drift. (``manage.py drift_loop`` prints the same figures.)"""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from fraudops.audit.models import AuditEntry
from scoring.models import DriftReport, ModelStatus, ModelVersion
from scoring.simulation.drift_loop import challenger_decide, demo_timeline, drift_loop_run
from scoring.simulation.history import HistorySimulator
from scoring.simulation.population import DRIFT_PATTERN
from scoring.simulation.traffic import TrafficSimulator
from tests import factories
from tests.scoring.compare_seed import model

DRIFT = datetime(2026, 3, 10, tzinfo=UTC)
START = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_drift_pattern_starts_at_its_date_and_the_days_before_are_unchanged():
    plain = HistorySimulator(seed=3, customers=40).generate(start=START, days=14)
    drifted = HistorySimulator(seed=3, customers=40, drift_at=DRIFT).generate(start=START, days=14)
    again = HistorySimulator(seed=3, customers=40, drift_at=DRIFT).generate(start=START, days=14)

    def before(history):
        return [t.payload for t in history if t.occurred_at < DRIFT]

    assert before(drifted) == before(plain)
    assert [t.payload for t in drifted] == [t.payload for t in again]  # by seed
    new = [t for t in drifted if t.pattern == DRIFT_PATTERN]
    assert new
    assert all(t.is_fraud and t.occurred_at >= DRIFT for t in new)
    assert all(t.payload["merchant_category"] == "5815" for t in new)
    assert not any(t.pattern == DRIFT_PATTERN for t in plain)


def test_live_traffic_drifts_from_its_date():
    def patterns(drift_at):
        simulator = TrafficSimulator(seed=3, customers=40, run="r", drift_at=drift_at)
        stream = simulator.stream(START, rate=1.0)
        return {next(stream).pattern for _ in range(3000)}

    assert DRIFT_PATTERN in patterns(START)
    assert DRIFT_PATTERN not in patterns(START + timedelta(days=365))


@pytest.mark.django_db
def test_a_drift_alert_shows_a_banner_on_every_page_and_is_exported(settings):
    settings.METRICS_TOKEN = ""
    report = DriftReport.objects.create(
        reference_from=START, reference_until=START + timedelta(days=7),
        current_from=DRIFT - timedelta(days=1), current_until=DRIFT, reference_decisions=10,
        current_decisions=10, psi={"score": 0.41, "amount": 0.3, "local_hour": 0.05},
        shifted=["score", "amount"], alerts=["score", "amount"], model_version="lgbm-1",
    )  # fmt: skip
    staff = factories.user("mia", "manager")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(staff)

    page = client.get("/kpis/").content.decode()
    metrics = client.get("/metrics").content.decode()

    assert 'id="drift-alert"' in page
    assert "score · Amount shifted" in page  # the catalogue's labels, not feature names
    assert 'fraudops_drift_psi{feature="score"} 0.41' in metrics
    assert "fraudops_drift_alert 1.0" in metrics
    DriftReport.objects.create(
        **{f: getattr(report, f) for f in ("reference_from", "reference_until", "current_from",
                                           "current_until", "reference_decisions",
                                           "current_decisions")},
        psi={"score": 0.01}, shifted=[], alerts=[],
    )  # fmt: skip
    assert 'id="drift-alert"' not in client.get("/kpis/").content.decode()
    assert "fraudops_drift_alert 0.0" in client.get("/metrics").content.decode()
    assert 'id="drift-alert"' not in Client().get("/accounts/login/").content.decode()


@pytest.mark.django_db
def test_the_banner_and_the_exported_alert_go_once_the_flagged_model_is_replaced_but_the_kpis_keep_the_check(  # noqa: E501
    settings,
):
    settings.METRICS_TOKEN = ""
    DriftReport.objects.create(
        reference_from=START, reference_until=START + timedelta(days=7),
        current_from=DRIFT - timedelta(days=1), current_until=DRIFT, reference_decisions=10,
        current_decisions=10, psi={"amount": 0.3}, shifted=["amount"], alerts=["amount"],
        model_version="lgbm-old",
    )  # fmt: skip
    manager = factories.user("mia", "manager")
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(manager)
    old = model("lgbm-old", ModelStatus.CHAMPION)
    assert 'id="drift-alert"' in client.get("/kpis/").content.decode()
    assert "fraudops_drift_alert 1.0" in client.get("/metrics").content.decode()

    ModelVersion.objects.filter(pk=old.pk).update(status=ModelStatus.RETIRED)
    model("lgbm-new", ModelStatus.CHAMPION)  # the retrain on the shifted data, promoted
    page = client.get("/kpis/").content.decode()
    metrics = client.get("/metrics").content.decode()

    assert 'id="drift-alert"' not in page
    assert 'id="drift-shifted"' in page  # the check itself is still on the KPI page
    assert "fraudops_drift_alert 0.0" in metrics  # a Prometheus alert stops firing with it
    assert 'fraudops_drift_psi{feature="amount"} 0.3' in metrics  # the check's figures stay


@pytest.mark.django_db(transaction=True)
def test_drift_is_flagged_and_the_retrained_challenger_beats_the_stale_champion(
    postgres, settings, tmp_path
):
    settings.MODEL_DIR = str(tmp_path / "models")
    settings.DECISION_MAX_AGE_DAYS = 100 * 365  # fixed dates, whatever day the suite runs
    settings.MODEL_REFRESH_SECONDS = 0

    loop = drift_loop_run(seed=7, customers=100)

    # The pattern's own features moved (the wave is ~20% of a day's payments)...
    assert {"local_hour", "channel_wallet", "amount"} <= set(loop.report.shifted)
    # ...and some of them are among the champion's top features: an alert. The stale
    # champion's scores moved too, from plateau to plateau (PSI 0.16 with a bin per plateau).
    assert loop.report.alerts
    assert "score" in loop.report.alerts
    challenger = loop.challenger
    assert challenger.status == ModelStatus.SHADOW
    assert challenger.parent == loop.champion
    on_holdout = challenger.metrics["champion_on_holdout"]
    assert on_holdout["version"] == loop.champion.name
    assert (on_holdout["rows"], on_holdout["fraud"]) == (challenger.metrics["rows"],
                                                         challenger.metrics["fraud"])  # fmt: skip
    assert "note" not in on_holdout  # the champion never saw the post-drift holdout
    assert loop.champion_ap is not None
    assert loop.challenger_ap is not None
    assert loop.challenger_ap > loop.champion_ap + 0.05


@pytest.mark.django_db(transaction=True)
def test_the_demo_timeline_ends_now_with_a_challenger_in_shadow_that_the_demo_then_decides(
    settings, tmp_path
):
    settings.MODEL_DIR = str(tmp_path / "models")
    settings.MODEL_REFRESH_SECONDS = 0
    # Midnight: the simulator depends on the time of day, never on the date.
    timeline = demo_timeline(factories.midnight_utc(0))

    loop = drift_loop_run(seed=7, customers=60, timeline=timeline)

    # The champion learnt only what had matured before the new pattern started...
    assert loop.champion.trained_until < timeline.day(timeline.drift)
    # ...the challenger, trained now, holds days after it and is measured on them.
    challenger = loop.challenger
    assert challenger.status == ModelStatus.SHADOW
    assert challenger.trained_until > timeline.day(timeline.drift)
    assert "note" not in challenger.metrics["champion_on_holdout"]
    assert loop.champion_ap is not None
    assert loop.challenger_ap is not None

    said = challenger_decide(challenger=challenger, shadowed=40)

    challenger.refresh_from_db()
    entry = AuditEntry.objects.filter(target_id=str(challenger.pk)).latest("pk")
    if loop.challenger_ap > loop.champion_ap:
        assert (challenger.status, entry.action) == (ModelStatus.CHAMPION, "model.promote")
    else:
        assert (challenger.status, entry.action) == (ModelStatus.REJECTED, "model.reject")
    assert entry.actor == "system"
    assert entry.reason.startswith("demo: AP ")
    assert challenger.name in said
