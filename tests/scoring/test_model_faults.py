"""A truncated model file under the real server: gunicorn fraudops.wsgi with two workers.

LightGBM aborts the process that parses such a file; serving must refuse it before parsing,
so every decision is answered (degraded) and no worker is lost.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import factories
from tests.servers import ROOT, manage

PORT = 16420
DECISIONS = 100

REGISTER = """
from scoring.model_files import sha256_hex
from scoring.models import ModelVersion
from scoring.features.definitions import FEATURE_NAMES
from scoring.lifecycle import model_promote
import json, pathlib, sys
path = pathlib.Path({path!r})
version = ModelVersion.objects.create(
    name="m-truncated", path=str(path), sha256=sha256_hex(path.read_bytes()),
    features=[{{"name": n, "type": "number"}} for n in FEATURE_NAMES],
    calibration=json.loads({calibration!r}),
    trained_from="2026-08-01T00:00:00Z", trained_until="2026-08-25T00:00:00Z", data_hash="0" * 64,
)
model_promote(version=version, actor=None, reason="test")
"""


def _request(method: str, path: str, body: dict | None = None, key: str = "") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Token {key}"}
        connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def _wait_until_serving(server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=1):
                pass
        except OSError:
            time.sleep(0.2)
            continue
        # The master listens before it forks: on a busy machine the second worker comes later.
        if len(_workers(server.pid)) == 2:
            return
        time.sleep(0.2)
    pytest.fail("gunicorn did not serve with 2 workers within 60 s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)


def test_a_truncated_model_file_leaves_both_gunicorn_workers_answering_degraded(
    trained_model, tmp_path
):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {
        "SQLITE_PATH": str(tmp_path / "serve.sqlite3"),
        "MODEL_DIR": str(tmp_path),
        "MODEL_REFRESH_SECONDS": "0.2",
        "COLD_FEATURES_REFRESH_IN_PROCESS": "1",
    }
    manage(env, "migrate", "--verbosity", "0")
    key = manage(env, "create_integrator", "acme").strip().splitlines()[-1]
    model = tmp_path / "m-truncated.txt"
    model.write_bytes(trained_model.path.read_bytes())
    calibration = json.dumps({"x": trained_model.calibration.x, "y": trained_model.calibration.y})
    manage(env, "shell", "-c", REGISTER.format(path=str(model), calibration=calibration))
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    # No control socket: its default path is shared by every gunicorn on the machine.
    command = [sys.executable, "-m", "gunicorn", "fraudops.wsgi", "-w", "2",
               "-b", f"127.0.0.1:{PORT}", "--graceful-timeout", "5",
               "--no-control-socket"]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "gunicorn.log").open("wb"),
    )  # fmt: skip
    try:
        _wait_until_serving(server)
        workers_before = _workers(server.pid)

        def decide(i: int) -> tuple[int, dict]:
            return _request(
                "POST", "/api/v1/decisions", factories.payload(transaction_id=f"t-{i}"), key
            )

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(decide, range(DECISIONS)))
        health = [_request("GET", "/healthz")[1] for _ in range(4)]
        workers_after = _workers(server.pid)
    finally:
        _stop(server)

    assert len(workers_before) == 2
    assert workers_after == workers_before
    assert [status for status, _ in answers] == [201] * DECISIONS
    assert {(b["degraded"], b["model_version"], b["score"]) for _, b in answers} == {
        (True, None, None)
    }
    assert {(h["model"]["state"], h["cold_features"]["published"]) for h in health} == {
        ("degraded", True)
    }
    assert all("refused" in h["model"]["reason"] for h in health)
    log = (tmp_path / "gunicorn.log").read_text()
    assert log.count("Booting worker") == 2, log[-3000:]  # none was replaced
    assert "SIGABRT" not in log
