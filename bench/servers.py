"""The servers the decision benchmark runs the product under, started and stopped by it."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.measure import HOST, BenchError, Connection

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServerSetup:
    name: str
    description: str
    keep_alive: bool  # whether the server keeps connections open between requests

    def command(self, *, port: int, workers: int, threads: int) -> list[str]:
        py = sys.executable
        bind = f"{HOST}:{port}"
        common = ["--workers", str(workers), "--bind", bind, "--log-level", "warning"]
        common += ["--no-control-socket"]
        if self.name == "gunicorn-sync":
            return [py, "-m", "gunicorn", "fraudops.wsgi:application", "-k", "sync", *common]
        if self.name == "gunicorn-gthread":
            return [
                py, "-m", "gunicorn", "fraudops.wsgi:application", "-k", "gthread",
                "--threads", str(threads), "--keep-alive", "5", *common,
            ]  # fmt: skip
        if self.name == "gunicorn-asgi":
            return [
                py, "-m", "gunicorn", "fraudops.asgi:application", "-k", "asgi",
                "--keep-alive", "5", *common,
            ]  # fmt: skip
        if self.name == "uvicorn":
            return [
                py, "-m", "uvicorn", "fraudops.asgi:application", "--workers", str(workers),
                "--host", HOST, "--port", str(port), "--log-level", "warning",
                "--no-access-log", "--lifespan", "off",
            ]  # fmt: skip
        raise ValueError(self.name)

    def describe(self, *, workers: int, threads: int) -> str:
        text = self.description.format(workers=workers, threads=threads)
        return text if self.keep_alive else f"{text} (no keep-alive: a connection per request)"


SERVERS: dict[str, ServerSetup] = {
    setup.name: setup
    for setup in (
        ServerSetup("gunicorn-sync", "gunicorn fraudops.wsgi, {workers} sync workers", False),
        ServerSetup(
            "gunicorn-gthread",
            "gunicorn fraudops.wsgi, {workers} gthread workers x {threads} threads",
            True,
        ),
        ServerSetup("gunicorn-asgi", "gunicorn fraudops.asgi, {workers} asgi workers", True),
        ServerSetup("uvicorn", "uvicorn fraudops.asgi, {workers} workers", True),
    )
}
# Chosen by measurement (``--server all``) on 2 cores: sync workers had the lowest tail latency
# and the highest throughput; the ASGI servers spent ~70% more CPU per request.
DEFAULT_SERVER = "gunicorn-sync"
# Two per core: a sync worker waits on PostgreSQL and Redis for part of every request.
DEFAULT_WORKERS = 2 * (os.cpu_count() or 1)


class Server:
    """A server process group started by the benchmark, stopped by it (also on Ctrl-C)."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it in order
        )
        self.log_path = log_path

    def wait_ready(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        request = f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"server exited with {self.process.returncode}: {self.tail()}")
            conn = Connection(port, timeout=2.0)
            try:
                status, _ = conn.request(request)
                if status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise BenchError(f"server not ready after {timeout:.0f}s: {self.tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def server_details(described: str) -> str:
    pool = f"psycopg pool {os.getenv('DB_POOL_MIN', '1')}..{os.getenv('DB_POOL_MAX', '8')}/worker"
    return (
        f"{described}; {pool}; DEBUG=0 LOG_LEVEL=WARNING PROMETHEUS_MULTIPROC_DIR set; "
        f"Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs; PostgreSQL and Redis on this machine; client in this process"
    )


@dataclass(frozen=True)
class WorkerMemory:
    pid: int
    rss_mb: float  # resident set: what the worker holds in RAM, shared pages included
    pss_mb: float  # its proportional share: pages shared with the other workers split


def worker_memory(server: Server) -> list[WorkerMemory]:
    """The memory of every process of the server's group but its master (Linux /proc)."""
    out = []
    master = server.process.pid
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
            fields = raw[raw.rfind(")") + 2 :].split()
            pid = int(stat.parent.name)
            if int(fields[2]) != master or pid == master:
                continue
            rollup = _kilobytes(stat.parent / "smaps_rollup")
        except (OSError, ValueError):
            continue  # exited meanwhile
        out.append(WorkerMemory(pid, rollup.get("Rss", 0) / 1024, rollup.get("Pss", 0) / 1024))
    return sorted(out, key=lambda w: w.pid)


def _kilobytes(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        value = rest.split()
        if value and value[-1] == "kB":
            out[name] = int(value[0])
    return out
