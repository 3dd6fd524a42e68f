"""The audit log records who did what, and nothing rewrites it afterwards."""

import csv
import io

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction

from fraudops.audit.admin import AuditEntryAdmin
from fraudops.audit.models import AppendOnly, AuditEntry
from fraudops.audit.services import SYSTEM, audit_record
from scoring.models import Integrator
from tests import factories


@pytest.fixture
def entry(db):
    target = Integrator.objects.create(name="acme")
    return audit_record(
        actor=factories.user("ada", "admin"),
        action="integrator.rename",
        target=target,
        reason='=HYPERLINK("https://evil.example")',
        changes={"name": ["old", "acme"]},
    )


def test_an_entry_names_the_actor_the_target_and_why(entry):
    stored = AuditEntry.objects.get()
    assert (stored.actor, stored.action, stored.target_type, stored.target_repr) == (
        "ada", "integrator.rename", "scoring.integrator", "acme",
    )  # fmt: skip
    assert stored.changes == {"name": ["old", "acme"]}


@pytest.mark.django_db
def test_a_scheduled_job_is_recorded_as_the_system():
    target = Integrator.objects.create(name="acme")
    assert audit_record(actor=None, action="x.y", target=target).actor == SYSTEM


def test_the_application_cannot_change_or_delete_an_entry(entry):
    entry.reason = "nothing happened"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.update(reason="rewritten")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().reason.startswith("=HYPERLINK")


def test_postgresql_itself_refuses_to_change_or_delete_an_entry(entry, postgres):
    for sql in ("UPDATE audit_auditentry SET reason = 'rewritten'", "DELETE FROM audit_auditentry"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEntry.objects.count() == 1


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(entry, rf):
    response = AuditEntryAdmin(AuditEntry, admin.site).export_csv(
        rf.get("/"), AuditEntry.objects.all()
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["action"] for row in rows] == ["integrator.rename"]
    assert rows[0]["reason"].startswith("'=HYPERLINK")
