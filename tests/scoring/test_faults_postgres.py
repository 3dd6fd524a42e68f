"""A PostgreSQL outage, on real servers: fast 503s, no ghost counts, retries succeed after.

The test starts its own PostgreSQL 15 cluster (port 55440), Redis (16401) and the API as the
README serves it (gunicorn, 2 workers, 16400), stops PostgreSQL by its PID in the middle, and
stops everything it started by PID at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TIMED_WAITS_FAKED, service_missing
from tests.servers import real_clock_env

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT, API_PORT, REDIS_PORT = 55440, 16400, 16401
ROOT = Path(__file__).resolve().parents[2]
API = f"http://127.0.0.1:{API_PORT}"
OUTAGE_REQUESTS = 40
BOUND_S = 1.0


def _wait(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # not listening yet
            if check():
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {timeout} s")


def _stop_pid(pid: int, sig: int, timeout: float = 10.0) -> None:
    """Signal a process we started (not our child: pg_ctl detached it) and wait until gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _stop_child(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Postgres:
    data: Path

    def start(self) -> int:
        options = f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        started = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "start",
                "-w",
                "-D",
                str(self.data),
                "-l",
                str(self.data / "log"),
                "-o",
                options,
            ],
            check=False,
            capture_output=True,
            env=real_clock_env(),
        )
        if started.returncode != 0:  # say why: the server's own log, not only pg_ctl's status
            log = self.data / "log"
            told = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise RuntimeError(
                f"the private PostgreSQL on port {PG_PORT} did not start: "
                f"{started.stderr.decode(errors='replace')}\n{told}"
            )
        return self.pid()

    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _stop_pid(self.pid(), signal.SIGINT)  # fast shutdown: connections are cut


@pytest.fixture
def postgres_cluster() -> Iterator[Postgres]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        service_missing(f"needs PostgreSQL 15 binaries in {PG_BIN} and runuser")
    if os.geteuid() != 0:
        service_missing("needs root to run initdb as the postgres user")
    data = Path(tempfile.mkdtemp(prefix="fo-undo-pg-"))
    shutil.chown(data, "postgres", "postgres")
    cluster = Postgres(data)
    try:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            env=real_clock_env(),
        )
        cluster.start()
        subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "fo",
            ],
            check=True,
            capture_output=True,
            env=real_clock_env(),
        )
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def private_redis() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        service_missing("needs redis-server")
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        env=real_clock_env(),
    )
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        _wait(client.ping, "redis-server")
        yield url
    finally:
        _stop_child(proc)


@dataclass
class Served:
    key: str
    redis_url: str


@pytest.fixture
def served(postgres_cluster: Postgres, private_redis: str) -> Iterator[Served]:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/fo",
        "REDIS_URL": private_redis,
        "DJANGO_SETTINGS_MODULE": "fraudops.settings",
        # Workers keep the policy and model they loaded: every outage request then gets as
        # far as storing its decision, after the feature store recorded it (the worst case).
        "RULESET_REFRESH_SECONDS": "3600",
        "MODEL_REFRESH_SECONDS": "3600",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    out = subprocess.run(
        [*manage, "create_integrator", "faults"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = out.strip().splitlines()[-1]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    api = subprocess.Popen(
        [
            str(gunicorn),
            "fraudops.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{API_PORT}",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: httpx.get(f"{API}/healthz", timeout=1).status_code == 200, "the API")
        yield Served(key, private_redis)
    finally:
        _stop_child(api, signal.SIGINT)  # gunicorn's quick shutdown


def body(transaction_id: str, amount: str = "20.00") -> dict[str, Any]:
    # Recent, so no stored-decision look-up happens before the feature store is read.
    return {
        "transaction_id": transaction_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "amount": amount,
        "currency": "EUR",
        "customer_id": "c-outage",
        "merchant_id": "m-1",
        "channel": "ecom",
        "card_id": "tok-outage",
        "device_id": "d-1",
    }


def post(client: httpx.Client, payload: dict[str, Any]) -> tuple[int, float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post("/api/v1/decisions", json=payload)
    return response.status_code, time.perf_counter() - started, response.json()


def post_until_up(client: httpx.Client, payload: dict[str, Any]) -> dict[str, Any]:
    """What a client does with a 503: retry the same request."""
    deadline = time.monotonic() + 20
    while True:
        status, _, data = post(client, payload)
        if status != 503 or time.monotonic() > deadline:
            assert status == 201, data
            return data
        time.sleep(0.2)


def card_counts(client: httpx.Client, decision_id: str) -> tuple[float, float]:
    features = client.get(f"/api/v1/decisions/{decision_id}").json()["features"]
    return features["card_txn_count_24h"], features["customer_txn_count_24h"]


def send_all(key: str, payloads: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """Two clients at once (one per worker), as fast as they get answers."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    queue = list(payloads)

    def client_loop() -> None:
        with httpx.Client(base_url=API, headers=auth(key), timeout=30) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    payload = queue.pop()
                status, seconds, _ = post(client, payload)
                with lock:
                    results.append((status, seconds))

    threads = [threading.Thread(target=client_loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


@TIMED_WAITS_FAKED  # the server's timed waits for a pooled connection
def test_a_postgresql_outage_answers_fast_503s_that_leave_no_count_and_retry_fine(
    served: Served, postgres_cluster: Postgres
):
    import redis

    store = redis.Redis.from_url(served.redis_url)
    run = uuid.uuid4().hex[:8]
    client = httpx.Client(base_url=API, headers=auth(served.key), timeout=30)
    for i in range(3):
        status, _, data = post(client, body(f"{run}-before-{i}"))
        assert status == 201, data

    postgres_cluster.stop()
    scripts_before = store.info("commandstats")["cmdstat_evalsha"]["calls"]
    outage = [body(f"{run}-outage-{i}", amount=f"{100 + i}.00") for i in range(OUTAGE_REQUESTS)]
    results = send_all(served.key, outage)
    scripts_during = store.info("commandstats")["cmdstat_evalsha"]["calls"] - scripts_before

    seconds = sorted(s for _, s in results)
    p50 = statistics.median(seconds)
    p99 = seconds[min(len(seconds) - 1, round(0.99 * len(seconds)))]
    print(f"\nPostgreSQL down: {len(seconds)} decisions, p50 {p50:.3f} s, p99 {p99:.3f} s")
    assert sorted({status for status, _ in results}) == [503]
    assert p99 < BOUND_S
    assert scripts_during > 0  # the outage's decisions did reach the feature store
    seen = list(store.scan_iter(match="fo:f:*:seen:*", count=1000))
    assert len(seen) == 3  # every refused decision was forgotten

    postgres_cluster.start()
    after = post_until_up(client, body(f"{run}-after"))
    assert card_counts(client, after["decision_id"]) == (3, 3)

    retried = [post_until_up(client, payload) for payload in outage]
    assert len({data["decision_id"] for data in retried}) == OUTAGE_REQUESTS
    last = post_until_up(client, body(f"{run}-last"))
    assert card_counts(client, last["decision_id"]) == (4 + OUTAGE_REQUESTS,) * 2
    client.close()
