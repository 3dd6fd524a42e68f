"""Settings from the environment: no public secrets in production, HTTPS done properly.

Each test starts a fresh Python with an environment of its own, since settings are read once.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the process needs to start, without anything this test run set for Django.
UNRELATED = {"PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV"}


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in UNRELATED}
    base["SQLITE_PATH"] = str(tmp_path / "settings.sqlite3")
    base["MODEL_DIR"] = str(tmp_path / "models")
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    """The production configuration that docs/deployment.md documents."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PII_HASH_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "fraudops.example.com",
        "HTTPS": "1",
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "CSRF_TRUSTED_ORIGINS": "https://fraudops.example.com",
        "NUM_PROXIES": "1",
        "METRICS_TOKEN": secrets.token_urlsafe(32),
    }


def test_with_debug_off_a_missing_secret_key_stops_the_start_with_a_clear_message(tmp_path):
    env = production_env()
    del env["SECRET_KEY"]

    result = run(["manage.py", "check"], tmp_path, **env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_with_debug_off_a_missing_pii_hash_key_stops_the_start_with_a_clear_message(tmp_path):
    env = production_env()
    del env["PII_HASH_KEY"]

    result = run(["manage.py", "check"], tmp_path, **env)

    assert result.returncode != 0
    assert "PII_HASH_KEY is not set and DEBUG is off" in result.stderr


def test_with_debug_on_the_development_secrets_still_start_the_app(tmp_path):
    result = run(["manage.py", "check"], tmp_path, DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_the_documented_production_configuration_passes_check_deploy(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **production_env()
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_public_development_secrets(tmp_path):
    env = production_env()
    env.update(
        SECRET_KEY="django-insecure-fraudops-dev-only", PII_HASH_KEY="fraudops-dev-only-pii-key"
    )

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **env)

    assert result.returncode != 0
    assert "security.W009" in result.stderr
    assert "fraudops.W001" in result.stderr


# Requests the login page over HTTPS (as the proxy reports it) and over plain HTTP.
HTTPS_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
secure = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/accounts/login/")
print(json.dumps({
    "status": secure.status_code,
    "hsts": secure.headers.get("Strict-Transport-Security"),
    "csrf_cookie_secure": bool(secure.cookies["csrftoken"]["secure"]),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "plain": [plain.status_code, plain.headers.get("Location")],
}))
"""


def test_over_https_cookies_are_secure_hsts_is_sent_and_plain_http_is_redirected(tmp_path):
    env = production_env()
    env.update(ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="fraudops.settings")

    result = run(["-c", HTTPS_PROBE], tmp_path, **env)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "status": 200,
        "hsts": "max-age=31536000; includeSubDomains; preload",
        "csrf_cookie_secure": True,
        "session_cookie_secure": True,
        "plain": [301, "https://testserver/accounts/login/"],
    }


SQLITE_PROBE = """
import json, django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
print(json.dumps({"vendor": connection.vendor, "journal": journal, "synchronous": synchronous}))
"""


def test_the_embedded_sqlite_database_runs_in_wal_mode(tmp_path):
    env = {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "fraudops.settings"}

    result = run(["-c", SQLITE_PROBE], tmp_path, **env)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # synchronous 1 is NORMAL: with WAL, safe against corruption, fsync at checkpoints only.
    assert seen == {"vendor": "sqlite", "journal": "wal", "synchronous": 1}
