"""How the benches share out the machine's CPU between the processes they measure."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench.load import PhaseResult
from bench.measure import CpuSample

BUSY = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"


@pytest.fixture
def busy_group() -> Iterator[subprocess.Popen[bytes]]:
    """A process in a session (and process group) of its own that burns 0.6 CPU seconds."""
    process = subprocess.Popen([sys.executable, "-c", BUSY], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def _exited(process: subprocess.Popen[bytes]) -> None:
    """Wait for the process to end without reaping it: until it is reaped, /proc keeps the
    CPU it used."""
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)


def test_the_workers_process_group_is_counted_as_the_worker_not_as_another_process(
    busy_group: subprocess.Popen[bytes],
) -> None:
    before = CpuSample.take(server_pgid=-1, worker_pgid=busy_group.pid)
    _exited(busy_group)
    after = CpuSample.take(server_pgid=-1, worker_pgid=busy_group.pid)

    cpu = after.since(before)

    assert cpu["worker"] >= 0.3
    assert cpu["other"] < cpu["worker"]


def test_without_a_worker_group_its_cpu_is_anothers_and_marks_the_phase_disturbed(
    busy_group: subprocess.Popen[bytes],
) -> None:
    before = CpuSample.take(server_pgid=-1)
    _exited(busy_group)
    result = PhaseResult("decision", "seq", latencies_ms=[1.0])
    result.cpu = CpuSample.take(server_pgid=-1).since(before)

    assert result.cpu["worker"] == 0.0
    assert result.cpu["other"] >= 0.3
    assert result.disturbed
