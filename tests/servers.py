"""Servers a test starts for itself, to put them in states the shared ones must never be in.

Each is started on a port of the test's own, and stopped by its PID, whatever the test did.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.conftest import service_missing


class PrivateRedis:
    """A redis-server of the test's own: it can be hung (SIGSTOP) and resumed."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    @contextmanager
    def hung(self) -> Iterator[None]:
        """Redis stops answering (the process is stopped; its sockets stay open)."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


ROOT = Path(__file__).resolve().parent.parent


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run ``manage.py`` with ``env`` (a server's settings), as its operator would; its
    standard output, or the test fails with what it printed on standard error."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def real_clock_env() -> dict[str, str]:
    """This environment without libfaketime, for servers we did not write (redis-server,
    PostgreSQL): they keep the machine's clock, as the shared ones do, when the suite runs
    under ``faketime`` (which also stops redis-server from starting)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    preload = [p for p in env.get("LD_PRELOAD", "").split(":") if p and "faketime" not in p]
    env["LD_PRELOAD"] = ":".join(preload)
    if not env["LD_PRELOAD"]:
        del env["LD_PRELOAD"]
    return env


@contextmanager
def private_redis(port: int, log: Path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server is not installed")
    assert binary is not None
    args = [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*args, "--bind", "127.0.0.1"], stdout=out, stderr=out, env=real_clock_env()
        )
    try:
        _wait_for_ping(process, port)
        yield PrivateRedis(process, port)
    finally:
        stop(process)


def _wait_for_ping(process: subprocess.Popen[bytes], port: int) -> None:
    client = redis.Redis(port=port, socket_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no private redis-server on port {port}") from None
            time.sleep(0.05)
        finally:
            client.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started (resumed first, in case the test left it stopped)."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
