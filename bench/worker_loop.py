"""The Celery worker and beat of production, as the benchmarks run them: one process that runs
beat's periodic tasks in turn, at the lowest priority the README asks for (``nice -n 19`` and
its session's autogroup), beside the servers measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.measure import BenchError, process_cpu_seconds
from bench.servers import ROOT

# The tasks a loop can run: the beat schedule's, with the setting that gives each its period.
TASKS = {
    "shadow": ("shadow_scores_fill_task", "SHADOW_SCORE_SECONDS"),
    "explain": ("decisions_explain_pending_task", "APPROVALS_EXPLAIN_SECONDS"),
}

LOOP = """
import time
from django.conf import settings
from scoring import tasks
names = {names!r}
due = {{name: 0.0 for name, _ in names}}
print("ready", flush=True)
while True:
    for name, period in names:
        if time.monotonic() >= due[name]:
            getattr(tasks, name)()
            due[name] = time.monotonic() + getattr(settings, period)
    time.sleep(max(0.05, min(due.values()) - time.monotonic()))
"""


class WorkerLoop:
    """Beat and a worker in a process of their own, stopped by us."""

    def __init__(
        self, env: dict[str, str], log_path: Path, *, tasks: list[str], nice: int = 19
    ) -> None:
        # Its output to a file: a pipe nobody reads would stop it once full.
        self._log = log_path.open("wb")
        self.log_path = log_path
        code = LOOP.format(names=[TASKS[task] for task in tasks])
        self.process = subprocess.Popen(
            [
                *(["nice", "-n", str(nice)] if nice else []),
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                code,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if nice:
            _autogroup_nice(self.process.pid, nice)
        deadline = time.monotonic() + 60
        while b"ready" not in log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"the worker loop did not start: {log_path.read_text()}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU the loop has used so far (user + system, from /proc)."""
        return process_cpu_seconds(self.process.pid) or 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


def _autogroup_nice(pid: int, nice: int) -> None:
    """Lower the loop's session group too. With the kernel's autogroups (Linux's default on
    desktops and many servers) CPU is shared between sessions first, and the loop runs in a
    session of its own: ``nice`` alone only orders it against its own session's processes, and
    the servers' session would get no more than half the CPU when both want it all. Writing the
    nice value to the group's ``/proc/PID/autogroup`` gives the whole session the low weight."""
    path = Path(f"/proc/{pid}/autogroup")
    if path.exists():
        path.write_text(str(nice))


def pending_approvals(database_url: str) -> int:
    """Approvals still waiting for the worker's explanation."""
    url = urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM scoring_decision WHERE reasons_pending").fetchone()
    return int(row[0]) if row else 0


def explanations_report(database_url: str, worker: WorkerLoop, *, timeout: float = 300.0) -> None:
    """How many approvals the worker had still to explain when the load stopped, and how long
    it took to catch up once the servers left it the CPU."""
    started = time.monotonic()
    backlog = pending_approvals(database_url)
    cpu_before = worker.cpu_seconds()
    left = backlog
    while left and time.monotonic() - started < timeout:
        time.sleep(1.0)
        left = pending_approvals(database_url)
    seconds = time.monotonic() - started
    print(
        f"approvals explained by the worker (nice 19): {backlog} waiting when the load "
        f"stopped, {left} after {seconds:.0f} s; worker CPU "
        f"{worker.cpu_seconds() - cpu_before:.1f} s for them",
        flush=True,
    )
