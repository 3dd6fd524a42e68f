"""The shared pieces of every browser test (Debian's chromium, driven by Playwright): the
live ASGI server and the browser (fixtures, made available to every test by
``tests/conftest.py``), logging in, posting a decision, and ``shot``, which saves a screenshot
to ``test-artifacts/browser/<test>/`` (or under ``$TEST_ARTIFACTS_DIR``; git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.db import connection, connections

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.getenv("TEST_ARTIFACTS_DIR", "test-artifacts")) / "browser"
PASSWORD = "correct-horse-9"
LIVE_WITHIN_MS = 2000


@pytest.fixture
def live_server_url(transactional_db: None) -> Iterator[str]:
    """uvicorn serving fraudops.asgi (HTTP and WebSockets) on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        "fraudops.asgi:application", host="127.0.0.1", port=port, log_level="warning",
        lifespan="off", ws="websockets-sansio",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live ASGI server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    _close_server_connections()


def _close_server_connections() -> None:
    """The server's threads used this process's connection pool and may still hold a
    connection: close the pool (later tests get a fresh one), then end any session a server
    thread still holds, so the test database can be flushed and dropped."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        old_sessions = [pid for (pid,) in cursor.fetchall()]
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        for pid in old_sessions:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def chromium(live_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian's chromium, headless. It asks for the live server so that it is stopped first,
    while Playwright's event loop still runs on this thread: Django then keeps the test body's
    connections apart (the async storage of its connection handler, a contextvar), and they
    are closed here, back to the pool, before the server's teardown ends the sessions left
    open (which would otherwise end the test body's and fail the next browser test's first
    query)."""
    if not Path(CHROMIUM).exists():
        from tests.conftest import service_missing  # conftest imports these fixtures

        service_missing(f"browser tests need Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are
    # plain synchronous ones between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-default-apps", "--disable-sync", "--no-first-run",
        ],
    )  # fmt: skip
    yield browser
    browser.close()
    connections.close_all()  # the test body's: see above
    playwright.stop()


def logged_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/cases/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    return page


def post_decision(base: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
        f"{base}/api/v1/decisions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        result: dict[str, Any] = json.loads(response.read())
        return result


def log_in(browser: Any, base: str, username: str, next_url: str) -> Any:
    """A page of a new browser context, logged in as ``username`` and landed on ``next_url``."""
    from urllib.parse import quote

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/accounts/login/?next={quote(next_url)}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_url}")
    return page


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``<name>.png`` in the running test's folder of
    ``test-artifacts/browser/``; answer its path."""
    test = os.environ["PYTEST_CURRENT_TEST"].split(" ")[0].rsplit("::", 1)[-1]
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 0
    return path
