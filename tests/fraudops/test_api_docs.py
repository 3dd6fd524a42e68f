"""The API docs (ReDoc, Swagger UI) load nothing from outside the app's own origin."""

from __future__ import annotations

import re

import pytest
from django.test import Client

EXTERNAL_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")
DOCS = ["/api/redoc/", "/api/docs/"]


@pytest.mark.parametrize("path", DOCS)
def test_the_docs_page_names_no_url_outside_the_app(path):
    response = Client(SERVER_NAME="localhost").get(path)

    assert response.status_code == 200
    assert EXTERNAL_URL.findall(response.content.decode()) == []


@pytest.mark.django_db(transaction=True)
def test_redoc_renders_in_a_browser_without_a_request_leaving_the_server(
    live_server_url,
    chromium,
):
    page = chromium.new_page()
    sent: list[str] = []  # what went to the network
    blocked: list[tuple[str, str | None]] = []

    def through(route):
        sent.append(route.request.url)
        route.continue_()

    page.route("**/*", through)
    page.on("requestfailed", lambda request: blocked.append((request.url, request.failure)))

    page.goto(f"{live_server_url}/api/redoc/")
    page.wait_for_selector("text=Real-time fraud decisions", timeout=15000)
    page.wait_for_load_state("networkidle")

    assert [url for url in sent if not url.startswith(live_server_url + "/")] == []
    assert f"{live_server_url}/api/schema/" in sent
    # Redoc's bundle asks for its CDN logo; the page's policy stops it in the browser.
    assert all(reason == "csp" for _, reason in blocked), blocked
