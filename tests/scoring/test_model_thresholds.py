"""A model's page recommends thresholds from its validation window and the costs an admin
set, draws the trade-off, and lets an admin apply them as an ordinary threshold change."""

import re
from datetime import UTC, datetime

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from fraudops.audit.models import AuditEntry
from rules.demo import demo_policy_seed
from rules.models import PolicyDraft, PolicyRevision, ScoreThresholds
from scoring.models import Integrator, ModelStatus, ThresholdCosts
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load
from scoring.threshold_choice import threshold_curve, thresholds_recommend
from scoring.training.train import model_train
from tests import factories
from tests.scoring.compare_seed import model

pytestmark = pytest.mark.django_db

GRID = (0.1, 0.3, 0.5, 0.7, 0.9)


def _curve():
    """The hand-computed window of tests/scoring/test_threshold_choice.py: with a review at
    5 and a 20% ceiling, review ≥ 0.3 and decline ≥ 0.7."""
    scores = np.array([0.95, 0.92, 0.75, 0.60, 0.55, 0.35, 0.32, 0.20, 0.15, 0.05])
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 0], dtype=np.int8)
    amounts = np.array([100, 80, 300, 10, 50, 5, 20, 40, 7, 3], dtype=float)
    return threshold_curve(scores=scores, y=y, amounts=amounts, days=2.0, grid=GRID)


@pytest.fixture
def version():
    ThresholdCosts.objects.create(
        pk=1, review_cost=5.0, reviews_per_day=1000, decline_fpr_ceiling=0.2
    )
    return model("lgbm-curve", ModelStatus.CHAMPION, threshold_curve=_curve())


def staff(username: str, role: str | None) -> Client:
    person = factories.user(username, role)
    person.is_staff = True
    person.save()
    client = Client()
    client.force_login(person)
    return client


def superuser() -> Client:
    client = Client()
    root = get_user_model().objects.filter(username="root").first()
    client.force_login(root or get_user_model().objects.create_superuser("root", "", "pw-xxxxxxxx"))
    return client


def test_the_model_page_shows_the_recommendation_its_trade_off_and_the_apply_button(version):
    page = superuser().get(f"/admin/scoring/modelversion/{version.pk}/change/").content.decode()

    assert "review ≥ 0.3, decline ≥ 0.7" in page
    assert 'id="threshold-figure-1"' in page
    assert 'id="threshold-figure-2"' in page
    assert 'id="apply-thresholds"' in page
    assert "/models/compare" in page


def test_the_link_to_change_the_costs_is_shown_only_to_those_who_may_open_it(version):
    page = f"/admin/scoring/modelversion/{version.pk}/change/"

    for client in (staff("lena", "lead"), staff("mia", "manager")):
        shown = client.get(page).content.decode()
        assert "review ≥ 0.3, decline ≥ 0.7" in shown
        assert 'id="change-costs"' not in shown
        assert client.get("/admin/scoring/thresholdcosts/add/").status_code == 403
    assert 'id="change-costs"' in superuser().get(page).content.decode()


def test_the_legit_payments_declined_are_shown_in_percent_as_the_ceiling_is(version):
    page = superuser().get(f"/admin/scoring/modelversion/{version.pk}/change/").content.decode()

    assert re.search(r"[0-9.]+% of legit payments declined", page)


def test_applying_proposes_the_thresholds_in_a_draft_and_records_who(version):
    revision = PolicyRevision.objects.filter(pk=1).values_list("revision", flat=True).first() or 0

    response = staff("ada", "admin").post(
        f"/admin/scoring/modelversion/{version.pk}/apply-thresholds/"
    )

    assert response.status_code == 302
    # An ordinary threshold change: nothing is in force until someone else publishes it.
    assert not ScoreThresholds.objects.exists()
    assert (PolicyRevision.objects.filter(pk=1).values_list("revision", flat=True).first() or 0) \
        == revision  # fmt: skip
    draft = PolicyDraft.objects.get()
    assert draft.author.username == "ada"
    assert draft.reason.startswith("Thresholds recommended for lgbm-curve (")  # its "Why"
    assert draft.changes["thresholds"] == {"review_at": 0.3, "decline_at": 0.7}
    entry = AuditEntry.objects.get(action="thresholds.propose_recommended")
    assert entry.actor == "ada"
    assert "lgbm-curve" in entry.reason
    assert entry.changes["review_at"] == [0.5, 0.3]


def test_once_proposed_the_page_says_where_and_does_not_offer_to_propose_again(version):
    admin = staff("ada", "admin")
    page = f"/admin/scoring/modelversion/{version.pk}/change/"
    admin.post(f"/admin/scoring/modelversion/{version.pk}/apply-thresholds/")

    shown = admin.get(page).content.decode()

    draft = PolicyDraft.objects.get()
    assert 'disabled title="Proposed already"' in shown
    assert f"/admin/rules/policydraft/{draft.pk}/change/" in shown
    draft.status = "discarded"
    draft.save()
    assert 'disabled title="Proposed already"' not in admin.get(page).content.decode()


def test_a_decline_at_one_is_explained_as_the_top_of_the_calibration(version):
    curve = threshold_curve(
        scores=np.array([1.0, 0.6, 0.2]), y=np.array([1, 0, 0], dtype=np.int8),
        amounts=np.array([100.0, 10.0, 10.0]), days=1.0, grid=(0.5, 1.0),
    )  # fmt: skip
    top = model("lgbm-top", ModelStatus.RETIRED, threshold_curve=curve)

    page = superuser().get(f"/admin/scoring/modelversion/{top.pk}/change/").content.decode()

    assert "decline ≥ 1.0</strong> (it declines only what the model scores 1.0" in page
    assert (
        "(it declines only"
        not in superuser().get(f"/admin/scoring/modelversion/{version.pk}/change/").content.decode()
    )


def test_only_those_who_may_change_thresholds_may_apply_them(version):
    url = f"/admin/scoring/modelversion/{version.pk}/apply-thresholds/"

    assert staff("lena", "lead").post(url).status_code == 403
    assert staff("mia", "manager").post(url).status_code == 403
    assert superuser().get(url).status_code == 405  # a change is a POST
    assert not ScoreThresholds.objects.exists()


def test_a_model_without_a_curve_says_why_there_is_no_recommendation():
    old = model("lgbm-old", ModelStatus.RETIRED)

    page = superuser().get(f"/admin/scoring/modelversion/{old.pk}/change/").content.decode()
    response = superuser().post(f"/admin/scoring/modelversion/{old.pk}/apply-thresholds/")

    assert "trained before its threshold curve was kept" in page
    assert 'id="apply-thresholds"' not in page
    assert response.status_code == 302
    assert not ScoreThresholds.objects.exists()


def test_hostile_costs_are_a_form_error_not_a_500():
    response = superuser().post(
        "/admin/scoring/thresholdcosts/add/",
        {"review_cost": "-3", "reviews_per_day": "many", "decline_fpr_ceiling": "2"},
    )

    assert response.status_code == 200
    for field in ("review_cost", "reviews_per_day", "decline_fpr_ceiling"):
        assert field in response.context["adminform"].form.errors
    assert not ThresholdCosts.objects.exists()


def test_training_keeps_its_validation_window_over_the_threshold_grid(postgres, settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path)
    demo_policy_seed()
    history = HistorySimulator(seed=3, customers=60).generate(
        start=datetime(2026, 5, 1, tzinfo=UTC), days=40
    )
    history_load(integrator=Integrator.objects.create(name="simulator"), history=history)

    version = model_train(now=datetime(2026, 8, 1, tzinfo=UTC)).version

    curve = version.threshold_curve
    assert curve["rows"] == version.metrics["rows"]
    assert curve["fraud_total"] == version.metrics["fraud"] > 0
    assert curve["count"][0] == curve["rows"]  # every score is at or above 0
    assert curve["count"] == sorted(curve["count"], reverse=True)
    assert curve["fraud_amount_total"] > 0
    assert 0 < curve["days"] <= 40
    costs = ThresholdCosts(decline_fpr_ceiling=0.05).as_costs()  # a small window: 1 legit ≈ 0.2%
    recommended = thresholds_recommend(version=version, costs=costs)
    assert 0 <= recommended.review_at <= recommended.decline_at <= 1
