"""Logins (workbench and admin) lock out a username on an address after repeated failures."""

import logging
import sys

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from fraudops.log_filters import NoTracebackForClientErrors
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pw-" + "x" * 8


@pytest.fixture
def lena(db):
    user = factories.user("lena", "lead", password=PASSWORD)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def wrong_tries(client: Client, url: str, username: str, times: int) -> list[int]:
    return [
        client.post(url, {"username": username, "password": f"wrong-{n}"}).status_code
        for n in range(times)
    ]


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_in_a_row_lock_the_login_with_a_clear_429_page(settings, lena, url):
    client = Client()

    tries = wrong_tries(client, url, "lena", settings.AXES_FAILURE_LIMIT)
    locked = client.post(url, {"username": "lena", "password": PASSWORD})

    # The form again with its error, until the limit-th wrong password locks the pair out.
    assert tries == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_lockout_leaves_another_user_on_the_same_address_free_to_log_in(settings, lena):
    alice = factories.user("alice", "analyst", password=PASSWORD)
    client = Client()
    tries = wrong_tries(client, "/accounts/login/", "lena", settings.AXES_FAILURE_LIMIT)

    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert tries[-1] == 429  # lena is locked out on this address
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_right_password_before_the_limit_logs_in_and_resets_the_count(settings, lena):
    client = Client()
    wrong_tries(client, "/accounts/login/", "lena", settings.AXES_FAILURE_LIMIT - 1)
    assert (
        client.post("/accounts/login/", {"username": "lena", "password": PASSWORD}).status_code
        == 302
    )
    assert client.session["_auth_user_id"] == str(lena.pk)
    client.logout()

    tries = wrong_tries(client, "/accounts/login/", "lena", settings.AXES_FAILURE_LIMIT - 1)

    assert tries == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert (
        client.post("/accounts/login/", {"username": "lena", "password": PASSWORD}).status_code
        == 302
    )
    assert client.session["_auth_user_id"] == str(lena.pk)


@pytest.mark.parametrize("forwarded", ["unknown", "203.0.113.9:4711", "not an address"])
def test_a_malformed_forwarded_address_behind_a_proxy_is_a_login_error_not_a_500(
    settings, lena, forwarded
):
    settings.NUM_PROXIES = 1
    client = Client(HTTP_X_FORWARDED_FOR=forwarded)

    tries = wrong_tries(client, "/accounts/login/", "lena", 2)

    assert tries == [200, 200]


def test_a_manager_lands_on_the_kpis_and_an_analyst_on_the_queues(lena):
    mia = factories.user("mia", "manager", password=PASSWORD)
    factories.user("alice", "analyst", password=PASSWORD)
    landed = {}
    for name in (mia.get_username(), "alice"):
        client = Client()
        response = client.post("/accounts/login/", {"username": name, "password": PASSWORD})
        landed[name] = client.get(response["Location"])["Location"]

    assert landed == {"mia": "/kpis/", "alice": "/cases/"}


def test_a_refused_page_says_why_and_where_to_go(lena):
    alice = factories.user("alice", "analyst", password=PASSWORD)
    client = Client()
    client.force_login(alice)

    response = client.get("/kpis/")

    assert response.status_code == 403
    assert b"You need the manager role" in response.content
    assert b"the queues" in response.content


@pytest.mark.parametrize(("status", "traceback_kept"), [(403, False), (404, False), (500, True)])
def test_a_refused_request_is_logged_without_its_traceback(settings, status, traceback_kept):
    try:
        raise PermissionDenied("You need the manager role.")
    except PermissionDenied:
        record = logging.LogRecord(
            "django.request", logging.WARNING, "", 0, "x", (), sys.exc_info()
        )
    record.status_code = status

    NoTracebackForClientErrors().filter(record)

    assert (record.exc_info is not None) is traceback_kept
    assert "client_errors" in settings.LOGGING["handlers"]["console"]["filters"]
