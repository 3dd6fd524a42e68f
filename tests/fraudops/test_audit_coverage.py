"""Changes to queues, roles and API keys leave an audit entry with who and what changed; no
view or admin action changes or deletes an entry."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.db import DatabaseError, connection, transaction
from django.test import Client

from cases.models import Queue
from fraudops.audit.models import AppendOnly, AuditEntry
from fraudops.audit.services import SYSTEM, audit_record
from scoring import integrators
from scoring.auth import key_hash
from scoring.models import ApiKey, Integrator
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada() -> User:
    """The administrator: a superuser, who may do anything the admin lets anyone do."""
    return User.objects.create_superuser("ada", "ada@example.com", "pw-for-tests")


@pytest.fixture
def admin_client(ada: User) -> Client:
    client = Client(SERVER_NAME="localhost")
    client.force_login(ada)
    return client


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def only_entry(action: str) -> AuditEntry:
    (entry,) = entries(action)
    return entry


# --- case queues -----------------------------------------------------------------------------


def queue_form(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "high_value",
        "position": "10",
        "sla_minutes": "30",
        "match_rule": "",
        "match_channel": "",
        "min_amount": "1000",
        "max_amount": "",
    }
    form.update(overrides)
    return form


def test_creating_a_queue_in_admin_records_it_with_its_analysts(admin_client):
    analyst = factories.user("anna", "analyst")

    response = admin_client.post("/admin/cases/queue/add/", queue_form(analysts=[analyst.pk]))

    assert response.status_code == 302
    entry = only_entry("queue.create")
    queue = Queue.objects.get(name="high_value")
    assert (entry.actor, entry.target_type, entry.target_id) == (
        "ada", "cases.queue", str(queue.pk),
    )  # fmt: skip
    assert entry.changes["name"] == [None, "high_value"]
    assert entry.changes["min_amount"] == [None, "1000.000"]
    assert entry.changes["analysts"] == [None, ["anna"]]


def test_changing_a_queue_records_only_what_changed(admin_client):
    queue = Queue.objects.create(name="high_value", position=10, sla_minutes=30)
    analyst = factories.user("anna", "analyst")

    admin_client.post(
        f"/admin/cases/queue/{queue.pk}/change/",
        queue_form(min_amount="", sla_minutes="15", analysts=[analyst.pk]),
    )

    entry = only_entry("queue.change")
    assert entry.actor == "ada"
    assert entry.changes == {"sla_minutes": [30, 15], "analysts": [[], ["anna"]]}


def test_saving_a_queue_unchanged_records_nothing(admin_client):
    queue = Queue.objects.create(name="high_value", position=10, sla_minutes=30, min_amount=1000)

    admin_client.post(f"/admin/cases/queue/{queue.pk}/change/", queue_form())

    assert entries("queue.change") == []


def test_an_inline_edit_in_the_queue_list_is_recorded_and_keeps_the_analysts(admin_client):
    queue = Queue.objects.create(name="high_value", position=10, sla_minutes=30)
    analyst = factories.user("anna", "analyst")
    queue.analysts.add(analyst)

    response = admin_client.post(
        "/admin/cases/queue/",
        {
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(queue.pk),
            "form-0-position": "5", "form-0-sla_minutes": "30", "_save": "Save",
        },
    )  # fmt: skip

    assert response.status_code == 302
    assert only_entry("queue.change").changes == {"position": [10, 5]}
    assert list(queue.analysts.all()) == [analyst]


def test_deleting_a_queue_records_what_it_was(admin_client):
    queue = Queue.objects.create(name="night", position=10, sla_minutes=30)

    admin_client.post(f"/admin/cases/queue/{queue.pk}/delete/", {"post": "yes"})

    assert not Queue.objects.filter(name="night").exists()
    entry = only_entry("queue.delete")
    assert (entry.actor, entry.target_repr) == ("ada", "night")
    assert entry.changes["name"] == ["night", None]


# --- user roles ------------------------------------------------------------------------------


def user_form(person: User, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": person.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
        "initial-date_joined_0": "2026-01-05",
        "initial-date_joined_1": "09:00:00",
    }
    form.update(overrides)
    return form


def test_giving_a_user_a_role_in_admin_records_the_change(admin_client):
    anna = factories.user("anna", "analyst")
    lead = Group.objects.get(name="lead")

    response = admin_client.post(
        f"/admin/auth/user/{anna.pk}/change/",
        user_form(anna, groups=[lead.pk, Group.objects.get(name="analyst").pk]),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = only_entry("user.roles")
    assert (entry.actor, entry.target_type, entry.target_repr) == ("ada", "auth.user", "anna")
    assert entry.changes == {"groups": [["analyst"], ["analyst", "lead"]]}


def test_taking_a_role_away_and_granting_staff_is_recorded(admin_client):
    anna = factories.user("anna", "lead")

    admin_client.post(f"/admin/auth/user/{anna.pk}/change/", user_form(anna, is_staff="on"))

    assert only_entry("user.roles").changes == {
        "groups": [["lead"], []],
        "is_staff": [False, True],
    }


def test_editing_a_user_without_touching_roles_records_nothing(admin_client):
    anna = factories.user("anna", "analyst")
    analyst = Group.objects.get(name="analyst")

    admin_client.post(
        f"/admin/auth/user/{anna.pk}/change/",
        user_form(anna, first_name="Anna", groups=[analyst.pk]),
    )

    assert entries("user.roles") == []


def test_changing_what_a_role_may_do_is_recorded(admin_client):
    manager = Group.objects.get(name="manager")
    before = sorted(f"{p.content_type.app_label}.{p.codename}" for p in manager.permissions.all())
    extra = Permission.objects.get(content_type__app_label="cases", codename="work_case")

    response = admin_client.post(
        f"/admin/auth/group/{manager.pk}/change/",
        {
            "name": "manager",
            "permissions": [*manager.permissions.values_list("pk", flat=True), extra.pk],
        },
    )

    assert response.status_code == 302
    entry = only_entry("role.permissions")
    assert entry.actor == "ada"
    assert entry.changes == {"permissions": [before, sorted([*before, "cases.work_case"])]}


# --- API keys --------------------------------------------------------------------------------


@pytest.fixture
def acme() -> Integrator:
    return factories.integrator("acme").api_key.integrator


def test_issuing_a_key_from_admin_records_who_issued_it(admin_client, acme):
    admin_client.post(
        "/admin/scoring/integrator/", {"action": "issue_key", "_selected_action": [acme.pk]}
    )

    (by_ada,) = [e for e in entries("api_key.issue") if e.actor == "ada"]
    new_key = ApiKey.objects.filter(integrator=acme).latest("id")
    assert (by_ada.target_type, by_ada.target_id) == ("scoring.apikey", str(new_key.pk))
    assert by_ada.changes == {"integrator": [None, "acme"], "prefix": [None, new_key.prefix]}


def test_revoking_a_key_from_admin_records_when_and_by_whom(admin_client, acme):
    key = acme.api_keys.get()

    admin_client.post("/admin/scoring/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    key.refresh_from_db()
    entry = only_entry("api_key.revoke")
    assert (entry.actor, entry.target_id) == ("ada", str(key.pk))
    assert entry.changes == {"revoked_at": [None, key.revoked_at.isoformat()]}


def test_revoking_a_revoked_key_again_records_nothing_more(acme):
    key = acme.api_keys.get()
    integrators.api_key_revoke(api_key=key)
    integrators.api_key_revoke(api_key=key)

    assert only_entry("api_key.revoke").actor == SYSTEM


def test_rotating_a_key_from_admin_revokes_it_issues_another_and_records_both(admin_client, acme):
    old = acme.api_keys.get()

    response = admin_client.post(
        "/admin/scoring/apikey/", {"action": "rotate", "_selected_action": [old.pk]}, follow=True
    )

    old.refresh_from_db()
    new = acme.api_keys.get(revoked_at__isnull=True)
    assert old.revoked_at is not None
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    shown = message.split(": ")[1].split(" ")[0]
    assert key_hash(shown) == new.key_hash  # the new key is shown once
    entry = only_entry("api_key.rotate")
    assert (entry.actor, entry.target_id) == ("ada", str(old.pk))
    assert entry.changes == {
        "revoked_at": [None, old.revoked_at.isoformat()],
        "replaced_by": [None, new.prefix],
    }


def test_a_command_creating_an_integrator_is_recorded_as_the_system():
    factories.integrator("late")

    assert only_entry("integrator.create").actor == SYSTEM
    assert only_entry("api_key.issue").changes["integrator"] == [None, "late"]


# --- nothing rewrites the log ----------------------------------------------------------------


@pytest.fixture
def entry(ada) -> AuditEntry:
    return audit_record(
        actor=ada, action="queue.change", target=Queue.objects.create(name="q"), reason="why"
    )


def test_the_audit_admin_lists_and_shows_entries_but_offers_no_change_or_delete(
    admin_client, entry
):
    listing = admin_client.get("/admin/audit/auditentry/")
    shown = admin_client.get(f"/admin/audit/auditentry/{entry.pk}/change/")

    assert listing.status_code == 200
    assert "delete_selected" not in listing.text
    assert "export_csv" in listing.text
    assert shown.status_code == 200
    assert 'name="_save"' not in shown.text
    assert f"/admin/audit/auditentry/{entry.pk}/delete/" not in shown.text


def test_no_admin_request_changes_or_deletes_an_entry_even_for_a_superuser(admin_client, entry):
    url = f"/admin/audit/auditentry/{entry.pk}"
    changed = admin_client.post(f"{url}/change/", {"reason": "nothing happened"})
    deleted = admin_client.post(f"{url}/delete/", {"post": "yes"})
    added = admin_client.post("/admin/audit/auditentry/add/", {"reason": "made up"})
    bulk = admin_client.post(
        "/admin/audit/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert (changed.status_code, deleted.status_code, added.status_code) == (403, 403, 403)
    assert bulk.status_code in (200, 302)  # "no action selected": not an action here
    assert list(AuditEntry.objects.values_list("pk", "reason")) == [(entry.pk, "why")]


def test_the_audit_admin_filters_by_action_actor_target_type_and_date(admin_client, entry):
    other = audit_record(actor=None, action="api_key.revoke", target=Queue.objects.create(name="r"))
    day = entry.created_at.date()

    def shown(query: str) -> set[int]:
        response = admin_client.get(f"/admin/audit/auditentry/?{query}")
        assert response.status_code == 200
        return {e.pk for e in response.context["cl"].result_list}

    assert shown("action=queue.change") == {entry.pk}
    assert shown(f"actor={SYSTEM}") == {other.pk}
    assert shown("target_type=cases.queue") == {entry.pk, other.pk}
    assert shown(urlencode({"created_at__gte": f"{day} 00:00:00+00:00"})) == {entry.pk, other.pk}
    assert shown(urlencode({"created_at__lt": "2000-01-01 00:00:00+00:00"})) == set()
    assert "created_at__gte" in admin_client.get("/admin/audit/auditentry/").text


def test_the_model_and_its_queryset_refuse_to_change_or_delete(entry):
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="mallory")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnly):
        entry.delete()
    assert AuditEntry.objects.get().actor == "ada"


def test_postgresql_refuses_raw_updates_and_deletes_of_an_entry(entry, postgres):
    for sql in (
        "UPDATE audit_auditentry SET actor = 'mallory'",
        "UPDATE audit_auditentry SET changes = '{}'::jsonb WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        params = [entry.pk] if "%s" in sql else []
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
    assert AuditEntry.objects.get().actor == "ada"
