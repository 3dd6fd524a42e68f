"""/metrics answers Prometheus with the bearer token, staff users, or DEBUG; nobody else."""

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

TOKEN = "metrics-" + "t" * 32


def test_without_a_token_setting_metrics_are_closed_to_anonymous_clients(settings):
    settings.METRICS_TOKEN = ""

    assert Client().get("/metrics").status_code == 403


def test_prometheus_with_the_bearer_token_reads_the_metrics(settings):
    settings.METRICS_TOKEN = TOKEN

    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert b"fraudops_decisions_total" in response.content


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer ", f"Token {TOKEN}", ""])
def test_a_wrong_or_missing_token_is_refused(settings, header):
    settings.METRICS_TOKEN = TOKEN

    assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 403


def test_a_staff_user_reads_the_metrics_and_an_analyst_does_not(settings):
    settings.METRICS_TOKEN = TOKEN
    staff = factories.user("sam", "admin")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    staff_client, analyst_client = Client(), Client()
    staff_client.force_login(staff)
    analyst_client.force_login(factories.user("alice", "analyst"))

    assert staff_client.get("/metrics").status_code == 200
    assert analyst_client.get("/metrics").status_code == 403


def test_with_debug_on_metrics_are_open_for_development(settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = True

    assert Client().get("/metrics").status_code == 200
