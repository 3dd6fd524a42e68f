"""The OpenAPI schema says what the API enforces: fuzzed from it, no operation answers 5xx or
outside its documented responses, and a generated client builds without a warning."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from django.core.signals import request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from fraudops.wsgi import application
from scoring.integrators import IssuedKey

EXAMPLES_PER_OPERATION = 200


@pytest.fixture
def _wsgi_requests_keep_the_test_connection() -> Iterator[None]:
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


# Loaded through the WSGI application itself, as a client would fetch it (no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
)


def _in_window_now_and_then(case: Any) -> None:
    """Half of the valid bodies get an occurred_at inside the accepted window, so the fuzz
    reaches the decision and label paths too (a random date-time almost never is). Never an
    invalid body's: its invalid part may be that field, and made valid the API rightly
    accepts it, which schemathesis, still taking the body for invalid, counts as a failure."""
    body = case.body
    if not isinstance(body, dict) or len(str(body.get("transaction_id"))) % 2:
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return
    if "occurred_at" in body:
        body["occurred_at"] = timezone.now().isoformat()
    if "reported_at" in body:
        body["reported_at"] = (timezone.now() - timedelta(days=1)).isoformat()


@schema.parametrize()
@pytest.mark.usefixtures("_wsgi_requests_keep_the_test_connection")
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_answers_within_its_schema(case: Any, issued: IssuedKey) -> None:
    _in_window_now_and_then(case)
    case.call_and_validate(
        headers={"Authorization": f"Token {issued.key}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


@pytest.mark.django_db
def test_the_schema_documents_only_json_request_bodies_and_refuses_unknown_fields(client):
    document = client.get("/api/schema/?format=json").json()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"], path
            for code in ("401", "429", "503"):
                assert code in operation["responses"], (method, path, code)
    components = document["components"]["schemas"]
    for name in ("TransactionIn", "LabelIn"):
        assert components[name]["additionalProperties"] is False
    assert components["ChannelEnum"]["enum"] == ["pos", "ecom", "wallet", "transfer", "atm"]
    assert "EUR" in components["CurrencyEnum"]["enum"]


@pytest.mark.django_db
def test_a_generated_python_client_builds_without_warnings(client, tmp_path: Path):
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator, "openapi-python-client is a dev dependency"
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(client.get("/api/schema/?format=json").json()))

    bin_dir = str(Path(sys.executable).parent)  # its post-processing runs ruff from here
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [generator, "generate", "--path", str(spec), "--output-path", str(tmp_path / "client")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output, output
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import fraud_ops_api_client.api.v1.decisions_create, fraud_ops_api_client.models",
        ],
        cwd=tmp_path / "client",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
