"""A hung Redis, against the API served as the README says: gunicorn, 2 workers, real servers.

The test starts its own redis-server and hangs it (SIGSTOP) while decisions are sent: each
must answer, degraded, within the feature store's budget, including those that open a case
(the channel layer is on the same hung Redis). When Redis resumes, decisions are whole again,
and the server's log tells each outage once when it starts and once when it ends.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tests.servers import ROOT, manage, private_redis, stop

REDIS_PORT = 16410
SERVER_PORT = 16411
TRACKERS = ("feature store", "API-key cache", "channel layer")


@contextmanager
def server_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The server's own database: ``<DATABASE_URL's>_srv`` on PostgreSQL, else a SQLite file."""
    url = os.getenv("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield {"SQLITE_PATH": str(tmp_path / "server.sqlite3")}
        return
    parts = urlsplit(url)
    name = f"{parts.path.strip('/') or 'fraudops'}_srv"

    def execute(statement: sql.Composed) -> None:
        with psycopg.connect(url, dbname="postgres", autocommit=True) as connection:
            connection.execute(statement)

    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    execute(drop)
    execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}
    finally:
        execute(drop)


@contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[Callable[[], None]]:
    """``gunicorn fraudops.wsgi -w 2``, as the README serves the API; its stderr into ``log``.

    Gives a function that waits until it answers (the test does its set-up meanwhile).
    """
    args = ["-m", "gunicorn", "fraudops.wsgi", "-w", "2", "-b", f"127.0.0.1:{SERVER_PORT}"]
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, *args, "--no-control-socket"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )

    def started() -> None:
        deadline = time.monotonic() + 30
        while not _healthy():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + log.read_text()
            time.sleep(0.1)

    try:
        yield started
    finally:
        stop(process)


def _healthy() -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", SERVER_PORT, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class Client:
    def __init__(self, key: str) -> None:
        self.key = key

    def decide(self, *, reviewed: bool) -> tuple[float, int, dict[str, Any]]:
        """(seconds, status, body) of one decision; ``reviewed`` ones open a case."""
        body = {
            "transaction_id": uuid.uuid4().hex,
            "occurred_at": datetime.now(UTC).isoformat(),
            "amount": "950.00" if reviewed else "25.00",
            "currency": "EUR",
            "customer_id": "c-faults",
            "merchant_id": "m-faults",
            "channel": "ecom",
            "card_id": "tok-faults",
            "country": "DE",
        }
        headers = {"Authorization": f"Token {self.key}", "Content-Type": "application/json"}
        connection = http.client.HTTPConnection("127.0.0.1", SERVER_PORT, timeout=15)
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/v1/decisions", json.dumps(body), headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
        finally:
            connection.close()
        return time.perf_counter() - started, response.status, answer

    def decide_concurrently(self, clients: int, each: int) -> list[tuple[float, int, Any]]:
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(self.decide, reviewed=i % 2 == 1) for i in range(clients * each)]
            return [future.result() for future in futures]


def outage_lines(log: str, tracker: str) -> tuple[Counter[str], Counter[str], int]:
    """(starts per pid, ends per pid, the count the ends add up to) of one tracker."""
    starts = Counter(re.findall(rf"^{tracker} unavailable since \S+ \(pid (\d+)\)", log, re.M))
    ends = re.findall(rf"^{tracker} available again \(pid (\d+)\): .*, (\d+) ", log, re.M)
    return starts, Counter(pid for pid, _ in ends), sum(int(count) for _, count in ends)


def every_outage_over(log: str) -> bool:
    for tracker in TRACKERS:
        starts, ends, _ = outage_lines(log, tracker)
        if set(starts) != set(ends):
            return False
    return True


def test_a_hung_redis_gives_degraded_decisions_fast_and_its_outage_is_logged_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "gunicorn.err"
    with (
        private_redis(REDIS_PORT, tmp_path / "redis.log") as redis_server,
        server_database(tmp_path) as database,
    ):
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(database, REDIS_URL=redis_server.url, LOG_LEVEL="WARNING")
        manage(env, "migrate", "-v", "0")
        # A published cold generation: decisions are whole until Redis hangs.
        manage(env, "refresh_cold_features")

        with gunicorn(env, log) as started:
            with ThreadPoolExecutor(2) as pool:
                integrator = pool.submit(manage, env, "create_integrator", "faults")
                pool.submit(manage, env, "shell", "-c", RULE_CREATE).result()
                client = Client(integrator.result().strip().splitlines()[-1])
            started()
            warm = client.decide_concurrently(2, 4)  # both workers connect to Redis
            with redis_server.hung():
                sequential = [client.decide(reviewed=i % 2 == 1) for i in range(20)]
                # As many clients as workers: each waits on Redis, not on another request.
                concurrent = client.decide_concurrently(2, 10)
                # A worker trusts the keys it holds until Redis has not answered its pings
                # for 1.5 s (scoring/key_cache.py); only then does a request read the cache
                # and find it hung. Go on until both workers have (a fast run of the
                # requests above can end before).
                hung_until = time.monotonic() + 10
                while len(outage_lines(log.read_text(), "API-key cache")[0]) < 2:
                    assert time.monotonic() < hung_until, log.read_text()
                    concurrent += client.decide_concurrently(2, 2)
            after: list[tuple[float, int, Any]] = []
            # Until each worker's next probe finds Redis back, decisions still skip it.
            recovering: list[tuple[float, int, Any]] = []
            deadline = time.monotonic() + 15
            while not (after and every_outage_over(log.read_text())):
                assert time.monotonic() < deadline, log.read_text()
                recovering += after
                after = client.decide_concurrently(4, 2)

    during = sequential + concurrent
    assert {status for _, status, _ in warm + during + after} == {201}
    assert not any(body["degraded"] for _, _, body in warm)
    assert {body["outcome"] for _, _, body in warm} == {"approve", "review"}
    assert all(body["degraded"] for _, _, body in during)
    assert {body["outcome"] for _, _, body in during} == {"approve", "review"}
    assert not any(body["degraded"] for _, _, body in after)
    print()
    for name, answers in (("sequential", sequential), ("by 2 concurrent clients", concurrent)):
        p50, p99 = percentiles([seconds for seconds, _, _ in answers])
        print(
            f"hung Redis, {len(answers)} {name}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )
    assert percentiles([seconds for seconds, _, _ in during])[1] < 1.5

    text = log.read_text()
    assert "Traceback" not in text
    store_starts, store_ends, degraded = outage_lines(text, "feature store")
    assert store_starts, text
    assert set(store_starts.values()) == {1}, text
    assert store_ends == store_starts, text
    # Each decision the outage degraded is counted once, by the worker that made it.
    assert {status for _, status, _ in recovering} <= {201}, [
        (s, b) for _, s, b in recovering if s != 201
    ]
    assert degraded == len(during) + sum(body["degraded"] for _, _, body in recovering)
    for tracker in ("API-key cache", "channel layer"):
        starts, ends, count = outage_lines(text, tracker)
        assert set(starts.values()) == {1}, (tracker, text)
        assert ends == starts, (tracker, text)
        assert count > 0


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """(p50, p99)."""
    return statistics.median(seconds), statistics.quantiles(seconds, n=100)[98]


RULE_CREATE = """
from rules.models import Rule
from rules.services import rule_save
rule_save(rule=Rule(name="big_amount", expression="amount > 900", action="review"))
"""
