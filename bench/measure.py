"""What the decision benchmark measures with: a light HTTP/1.1 client on a raw socket, and
CPU accounting per kind of process from Linux's /proc."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


class BenchError(Exception):
    """The benchmark could not run (set-up failed, server died, deadline passed)."""


class ClosedEarly(OSError):
    """The server closed the connection before a response (e.g. an idle keep-alive)."""


class Connection:
    """A minimal HTTP/1.1 client on one socket: light, so the server gets the CPU.

    Keeps the connection open unless the server says ``Connection: close``. Responses must
    carry a Content-Length (Django's CommonMiddleware sets it) or close the connection.
    """

    def __init__(self, port: int, *, timeout: float) -> None:
        self._port = port
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self.reconnects = 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self._port), timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self.reconnects += 1
        return sock

    def request(self, raw: bytes) -> tuple[int, bytes]:
        reused = self._sock is not None
        try:
            return self._exchange(self._sock or self._connect(), raw)
        except (ClosedEarly, ConnectionResetError, BrokenPipeError):
            self.close()
            if not reused:
                raise
        # The kept-alive connection had been closed by the server: nothing was processed.
        return self._exchange(self._connect(), raw)

    def _exchange(self, sock: socket.socket, raw: bytes) -> tuple[int, bytes]:
        sock.sendall(raw)
        buf = b""
        while (end := buf.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ClosedEarly("connection closed before a response")
            buf += chunk
        status, length, close = _parse_head(buf[:end])
        body = buf[end + 4 :]
        while length is None or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                if length is None:
                    break
                raise ClosedEarly("connection closed inside a response body")
            body += chunk
        if close or length is None:
            self.close()
        return status, body


def _parse_head(head: bytes) -> tuple[int, int | None, bool]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length: int | None = None
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            raise BenchError("chunked responses are not supported by the bench client")
    return status, length, close


# --- CPU accounting (Linux /proc; zeros elsewhere) ---------------------------------------

CLOCK_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SERVICE_COMMANDS = ("postgres", "redis-server")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU a process of this machine has used so far (user + system), or None if it cannot be
    read (gone, or not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


DISTURBED_SHARE = 0.10  # of the machine's CPU used by other processes during a phase


@dataclass(frozen=True)
class CpuSample:
    processes: dict[int, tuple[str, float]]  # pid -> (server|services|worker|client|other, s)
    machine_busy: float  # CPU seconds of the whole machine, steal excluded
    machine_steal: float

    @classmethod
    def take(cls, server_pgid: int, worker_pgid: int | None = None) -> CpuSample:
        """Every process's CPU so far, by kind: the server's and the bench's Celery worker's
        process groups, the services (PostgreSQL, Redis), this client, and the others."""
        processes: dict[int, tuple[str, float]] = {}
        for entry in Path("/proc").glob("[0-9]*/stat"):
            try:
                raw = entry.read_text()
            except OSError:
                continue
            comm = raw[raw.find("(") + 1 : raw.rfind(")")]
            fields = raw[raw.rfind(")") + 2 :].split()
            pgrp, cpu = int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICK
            pid = int(entry.parent.name)
            kind = "other"
            if pid == os.getpid():
                kind = "client"
            elif pgrp == server_pgid:
                kind = "server"
            elif pgrp == worker_pgid:
                kind = "worker"
            elif comm.startswith(SERVICE_COMMANDS):
                kind = "services"
            processes[pid] = (kind, cpu)
        busy = steal = 0.0
        stat = Path("/proc/stat")
        if stat.exists():
            ticks = [int(x) for x in stat.read_text().split("\n", 1)[0].split()[1:]]
            user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
            busy = (user + nice + system + irq + softirq) / CLOCK_TICK
            steal = ticks[7] / CLOCK_TICK if len(ticks) > 7 else 0.0
        return cls(processes, busy, steal)

    def since(self, before: CpuSample) -> dict[str, float]:
        """CPU seconds per kind of process between two samples, and the machine's."""
        out = {"server": 0.0, "services": 0.0, "worker": 0.0, "client": 0.0, "other": 0.0}
        for pid, (kind, cpu) in self.processes.items():
            out[kind] += cpu - before.processes.get(pid, (kind, 0.0))[1]
        out["machine"] = self.machine_busy - before.machine_busy
        out["steal"] = self.machine_steal - before.machine_steal
        return out
