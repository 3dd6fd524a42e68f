"""`manage.py demo` as a person runs it: twice in a row, on a busy port, stopped by a signal.

One module fixture runs the demo twice on one SQLite file, on this suite's port: the first
run (with two days of history) is tried a second time on the same port while it serves, then
stopped with SIGTERM; the second run is stopped with SIGINT. The tests read what happened.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = 16440
RUNNING = "FraudOps demo is running"
# Fast and fraud-heavy, so a few seconds of traffic open cases even on rules alone.
DEMO_ARGS = ["--port", str(PORT), "--rate", "40", "--fraud-boost", "30", "--duration", "0"]


def demo_env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        SQLITE_PATH=str(directory / "demo.sqlite3"),
        MODEL_DIR=str(directory / "models"),
        PYTHONUNBUFFERED="1",
    )
    return env


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: fields follow the last ")".
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Demo:
    """A demo process whose output is collected line by line."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        command = [sys.executable, "manage.py", "demo", *args]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the demo exited ({self.process.returncode}) before {what}:\n"
                            f"{self.output[-3000:]}")  # fmt: skip
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout} s:\n{self.output[-3000:]}")
            time.sleep(0.2)

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._reader.join(timeout=5)

    def kill_all(self) -> None:
        """Teardown: nothing this test started outlives it, whatever failed."""
        for pid in [*descendants(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass(frozen=True)
class Counts:
    live_decisions: int
    cases: int
    known_customer: int
    known_device: int


def counts(db: Path) -> Counts:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=20) as conn:
        live, cases, known, device = conn.execute(
            """
            SELECT count(*),
                   count(c.id),
                   sum(json_extract(d.features, '$.customer_seconds_since_last') IS NOT NULL),
                   sum(json_extract(d.features, '$.device_new_for_customer') = 0)
            FROM scoring_decision d
            JOIN scoring_transaction t ON t.id = d.transaction_id
            LEFT JOIN cases_case c ON c.decision_id = d.id
            WHERE t.transaction_id LIKE 'live-%'
            """
        ).fetchone()
    return Counts(live, cases, known or 0, device or 0)


@dataclass
class Runs:
    after_first: Counts
    after_second: Counts
    busy: subprocess.CompletedProcess[str]
    busy_seconds: float
    first_children: list[int]
    second_children: list[int]
    first_exit: int
    second_exit: int
    outputs: list[str] = field(default_factory=list)


def run_until(demo: Demo, db: Path, *, more_than: Counts | None) -> None:
    """Serve, then send until there are 40 more live decisions and at least one more case."""
    demo.wait_for(lambda: RUNNING in demo.output, 120, "'demo is running'")
    base = more_than or Counts(0, 0, 0, 0)
    demo.wait_for(
        lambda: (
            (now := counts(db)).live_decisions >= base.live_decisions + 40
            and now.cases > base.cases
        ),
        40,
        "new live decisions and cases",
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    directory = tmp_path_factory.mktemp("demo")
    db, env = directory / "demo.sqlite3", demo_env(directory)
    started: list[Demo] = []
    try:
        first = Demo(env, *DEMO_ARGS, "--history-days", "2")
        started.append(first)
        run_until(first, db, more_than=None)
        began = time.monotonic()
        busy = subprocess.run(
            [sys.executable, "manage.py", "demo", *DEMO_ARGS], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        busy_seconds = time.monotonic() - began
        first_children = descendants(first.process.pid)
        first_exit = first.stop(signal.SIGTERM)
        after_first = counts(db)

        second = Demo(env, *DEMO_ARGS, "--history-days", "2")
        started.append(second)
        run_until(second, db, more_than=after_first)
        second_children = descendants(second.process.pid)
        second_exit = second.stop(signal.SIGINT)
        yield Runs(
            after_first, counts(db), busy, busy_seconds, first_children, second_children,
            first_exit, second_exit, [first.output, second.output],
        )  # fmt: skip
    finally:
        for demo in started:
            if demo.process.poll() is None or descendants(demo.process.pid):
                demo.kill_all()


def test_a_second_demo_run_decides_new_transactions_and_opens_new_cases(runs):
    first, second = runs.after_first, runs.after_second

    assert second.live_decisions >= first.live_decisions + 40
    assert second.cases > first.cases > 0
    assert "HTTP 409" not in runs.outputs[1]


def test_a_demo_on_a_busy_port_refuses_at_once_with_a_clear_message(runs):
    assert runs.busy.returncode != 0
    assert f"Port {PORT} is already in use" in runs.busy.stderr
    assert "--port" in runs.busy.stderr
    # Refused before the slow work: it neither migrated nor served.
    assert "migrating" not in runs.busy.stdout
    assert RUNNING not in runs.busy.stdout
    assert runs.busy_seconds < 15


def test_sigterm_stops_the_demo_and_its_server(runs):
    assert runs.first_children, "the demo had no server child to stop"
    assert runs.first_exit == 0
    assert [pid for pid in runs.first_children if alive(pid)] == []
    assert "stopped" in runs.outputs[0]


def test_sigint_stops_the_demo_and_its_server(runs):
    assert runs.second_children, "the demo had no server child to stop"
    assert runs.second_exit == 0
    assert [pid for pid in runs.second_children if alive(pid)] == []


def test_most_live_decisions_are_on_customers_and_devices_the_history_knows(runs):
    first = runs.after_first

    assert first.known_customer / first.live_decisions > 0.8
    assert first.known_device / first.live_decisions > 0.6
