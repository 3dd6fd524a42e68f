"""The lifecycle's buttons: leads and admins change which model decides, with a reason;
analysts and managers get 403, nothing changes and the refusal is logged."""

import logging
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from fraudops.audit.models import AuditEntry
from scoring.models import ModelStatus, ModelVersion
from tests import factories

pytestmark = pytest.mark.django_db


def version(name: str, status: ModelStatus = ModelStatus.CANDIDATE, **fields) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name, path="/nowhere", sha256="a" * 64, features=[], calibration={},
        trained_from=datetime(2026, 3, 2, tzinfo=UTC),
        trained_until=datetime(2026, 4, 2, tzinfo=UTC),
        data_hash="x", status=status, promoted_at=fields.pop("promoted_at", None), **fields,
    )  # fmt: skip


def logged_in(username: str, role: str | None, *, staff: bool = False) -> Client:
    person = factories.user(username, role)
    if staff:
        person.is_staff = True
        person.save()
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def models():
    """A champion m-a (m-old before it, retired) and a shadow m-b with a canary share."""
    version("m-old", ModelStatus.RETIRED, promoted_at=datetime(2026, 3, 1, tzinfo=UTC))
    version("m-a", ModelStatus.CHAMPION, promoted_at=datetime(2026, 3, 2, tzinfo=UTC))
    version("m-b", ModelStatus.SHADOW, canary_share=0.2)
    return {v.name: v for v in ModelVersion.objects.all()}


def every_change(models) -> list[tuple[str, dict]]:
    shadow = models["m-b"].pk
    return [
        (f"/models/{shadow}/promote", {"reason": "better"}),
        (f"/models/{shadow}/reject", {"reason": "worse"}),
        (f"/models/{shadow}/canary", {"reason": "more", "share": "0.9"}),
        (f"/models/{models['m-old'].pk}/promote", {"reason": "back"}),
        ("/models/rollback", {"reason": "undo"}),
        ("/models/kill-switch", {"reason": "stop"}),
    ]


def snapshot() -> list[tuple[str, str, float]]:
    return list(ModelVersion.objects.order_by("name").values_list("name", "status", "canary_share"))


@pytest.mark.parametrize(
    ("role", "staff"), [("analyst", False), ("analyst", True), ("manager", True), (None, True)]
)
def test_without_the_permission_every_change_is_403_and_nothing_is_changed_or_recorded(
    models, role, staff
):
    client = logged_in("alice", role, staff=staff)
    before = snapshot()

    answers = [client.post(url, data).status_code for url, data in every_change(models)]

    assert answers == [403] * 6
    assert snapshot() == before
    assert not AuditEntry.objects.exists()


def test_every_refused_change_is_logged_with_the_account_and_the_change(models, caplog):
    client = logged_in("alice", "analyst", staff=True)
    caplog.set_level(logging.WARNING, logger="scoring.model_views")

    for url, data in every_change(models):
        client.post(url, data)

    refusals = [r.getMessage() for r in caplog.records if r.name == "scoring.model_views"]
    assert refusals == [
        f"model change refused: alice (no scoring.manage_models) tried POST {url}"
        for url, _ in every_change(models)
    ]


def test_a_visitor_who_is_not_logged_in_changes_nothing(models):
    before = snapshot()

    for url, data in every_change(models):
        assert Client().post(url, data).status_code == 302  # to the login page

    assert snapshot() == before


def test_a_lead_promotes_the_shadow_with_a_reason_and_is_recorded(models):
    client = logged_in("lena", "lead")

    response = client.post(f"/models/{models['m-b'].pk}/promote", {"reason": "AP 0.61 vs 0.52"})

    assert response.status_code == 302
    assert response["Location"] == f"/admin/scoring/modelversion/{models['m-b'].pk}/change/"
    assert ModelVersion.objects.get(status=ModelStatus.CHAMPION).name == "m-b"
    entry = AuditEntry.objects.get(action="model.promote")
    assert (entry.actor, entry.reason) == ("lena", "AP 0.61 vs 0.52")


def test_an_admin_rolls_back_sets_a_canary_and_pulls_the_kill_switch(models):
    client = logged_in("ada", "admin")

    assert client.post("/models/rollback", {"reason": "m-a misbehaves"}).status_code == 302
    assert ModelVersion.objects.get(status=ModelStatus.CHAMPION).name == "m-old"
    canary = client.post(f"/models/{models['m-b'].pk}/canary", {"reason": "x", "share": "0.5"})
    assert canary.status_code == 302
    assert ModelVersion.objects.get(name="m-b").canary_share == 0.5
    assert client.post("/models/kill-switch", {"reason": "stop"}).status_code == 302
    assert ModelVersion.objects.get(name="m-b").canary_share == 0.0

    actions = list(AuditEntry.objects.order_by("id").values_list("actor", "action"))
    assert actions == [
        ("ada", "model.retire"),
        ("ada", "model.rollback"),
        ("ada", "model.canary"),
        ("ada", "model.kill_switch"),
    ]


def test_each_change_says_what_it_did_in_words(models):
    client = logged_in("lena", "lead")

    def said(url: str, data: dict) -> str:
        page = client.post(url, data, follow=True)
        return " ".join(str(message) for message in page.context["messages"])

    stopped = said("/models/kill-switch", {"reason": "stop"})
    again = said("/models/kill-switch", {"reason": "stop again"})
    promoted = said(f"/models/{models['m-b'].pk}/promote", {"reason": "better"})

    assert stopped == (
        "Kill switch: canary share set to 0, all traffic goes to the champion within seconds."
    )
    assert again == (
        "Kill switch: no canary was deciding; all traffic already goes to the champion."
    )
    assert promoted == "Model m-b is the champion: workers switch to it within seconds."


def test_a_shadow_is_started_and_a_candidate_rejected_through_the_buttons(models):
    client = logged_in("lena", "lead")
    candidate, other = version("m-c"), version("m-d")

    assert client.post(f"/models/{candidate.pk}/shadow", {"reason": "retrained"}).status_code == 302
    assert client.post(f"/models/{other.pk}/reject", {"reason": "worse"}).status_code == 302

    statuses = dict(ModelVersion.objects.values_list("name", "status"))
    assert (statuses["m-c"], statuses["m-b"], statuses["m-d"]) == ("shadow", "rejected", "rejected")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"reason": "ok", "share": "1.5"}, "share"),
        ({"reason": "ok", "share": "-1"}, "share"),
        ({"reason": "ok", "share": "nan"}, "share"),
        ({"reason": "ok", "share": "lots"}, "share"),
        ({"reason": "ok"}, "share"),
    ],
)
def test_a_bad_form_is_a_400_naming_the_field_and_changes_nothing(models, data, field):
    client = logged_in("lena", "lead")
    before = snapshot()

    response = client.post(f"/models/{models['m-b'].pk}/canary", data)

    assert response.status_code == 400
    assert f"<strong>{field}</strong>" in response.content.decode()
    assert snapshot() == before
    assert not AuditEntry.objects.exists()


def test_a_refused_change_is_a_409_saying_why(models):
    client = logged_in("lena", "lead")

    response = client.post(f"/models/{models['m-a'].pk}/reject", {"reason": "bad"})

    assert response.status_code == 409
    assert "cannot reject m-a: it is champion" in response.content.decode()
    assert ModelVersion.objects.get(name="m-a").status == ModelStatus.CHAMPION


def test_a_version_that_does_not_exist_is_a_404():
    client = logged_in("lena", "lead")

    assert client.post("/models/999999/promote", {"reason": "x"}).status_code == 404


def test_a_get_changes_nothing():
    client = logged_in("lena", "lead")

    assert client.get("/models/rollback").status_code == 405


def test_the_models_page_shows_the_buttons_its_status_allows_to_those_who_may(models):
    superuser = get_user_model().objects.create_superuser("root", "", "pw-xxxxxxxx")
    client = Client()
    client.force_login(superuser)

    shadow_page = client.get(f"/admin/scoring/modelversion/{models['m-b'].pk}/change/")
    champion_page = client.get(f"/admin/scoring/modelversion/{models['m-a'].pk}/change/")
    listing = client.get("/admin/scoring/modelversion/")

    assert shadow_page.status_code == 200
    page = shadow_page.content.decode()
    for action in ("promote", "reject", "canary"):
        assert f'data-action="{action}"' in page
    assert 'data-action="shadow_start"' not in page
    assert 'name="reason" required' in page
    assert 'data-action="' not in champion_page.content.decode()
    assert 'data-action="rollback"' in listing.content.decode()
    assert 'data-action="kill_switch"' in listing.content.decode()


def test_a_staff_manager_sees_the_models_page_without_buttons(models):
    client = logged_in("mia", "manager", staff=True)

    page = client.get(f"/admin/scoring/modelversion/{models['m-b'].pk}/change/")
    listing = client.get("/admin/scoring/modelversion/")

    assert page.status_code == 200
    assert "m-b" in page.content.decode()
    assert 'data-action="' not in page.content.decode()
    assert 'data-action="' not in listing.content.decode()


def test_a_staff_lead_sees_the_buttons(models):
    client = logged_in("lena", "lead", staff=True)

    page = client.get(f"/admin/scoring/modelversion/{models['m-b'].pk}/change/")

    assert page.status_code == 200
    assert 'data-action="promote"' in page.content.decode()


def test_a_lead_reads_the_models_history_on_its_page_who_what_and_why(models):
    lead = logged_in("lena", "lead", staff=True)
    shadow = models["m-b"]
    lead.post(f"/models/{shadow.pk}/canary", {"reason": "try 10%", "share": "0.1"})
    lead.post(f"/models/{shadow.pk}/promote", {"reason": "AP 0.61 vs 0.52"})

    page = lead.get(f"/admin/scoring/modelversion/{shadow.pk}/change/").content.decode()
    history = page[page.index('id="model-history"') :]

    assert history.index("promoted to champion") < history.index("canary share set")
    assert "<td>lena</td>" in history
    assert "AP 0.61 vs 0.52" in history
    assert "try 10%" in history
    untouched = lead.get(f"/admin/scoring/modelversion/{models['m-old'].pk}/change/")
    assert "Nothing yet" in untouched.content.decode()
