"""Every page has an icon, so no browser console shows a 404 for /favicon.ico."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


def test_favicon_ico_redirects_to_the_static_icon_which_exists():
    response = Client().get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.svg"
    found = finders.find("img/favicon.svg")
    assert found is not None
    with open(str(found), encoding="utf-8") as icon:
        assert icon.read().startswith("<svg")


@pytest.mark.django_db
def test_the_pages_name_their_icon():
    page = Client().get("/accounts/login/").content.decode()

    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
