"""The live decision feed, for staff only."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def test_staff_see_the_latest_decisions_with_their_reasons(api):
    factories.rule("big", "amount > 100", "review", description="Large amount")
    api.post(
        "/api/v1/decisions", factories.payload(transaction_id="t-live", amount="150"), format="json"
    )
    lead = User.objects.create_user("lee", password="pw", is_staff=True)
    client = Client(SERVER_NAME="localhost")
    client.force_login(lead)

    page = client.get("/decisions/live")
    rows = client.get("/decisions/live/rows").content.decode()

    assert page.status_code == 200
    assert "t-live" in rows
    assert "Large amount" in rows
    assert "review 1" in rows


def test_the_feed_is_not_for_anonymous_users_or_non_staff():
    outsider = User.objects.create_user("olly", password="pw")
    client = Client(SERVER_NAME="localhost")

    assert client.get("/decisions/live/rows").status_code == 302
    assert client.get("/decisions/live")["Location"].startswith("/accounts/login/")
    client.force_login(outsider)
    # Signed in without staff rights: the friendly 403 page, not a login page.
    refused = client.get("/decisions/live")
    assert refused.status_code == 403
    assert "for staff" in refused.content.decode()
    assert client.get("/decisions/live/rows").status_code == 403
