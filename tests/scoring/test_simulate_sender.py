"""The live traffic sender: a send the server does not answer in time is said and counted,
and the traffic goes on (the demo's server can be busy on 2 cores)."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from scoring.management.commands.simulate import TIMED_OUT, Command, SendTimedOut, _Sender


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for conn in held:
        conn.close()


def test_a_send_the_server_does_not_answer_in_time_raises_timed_out(silent_server):
    sender = _Sender(silent_server, "key", timeout=0.2)
    started = time.monotonic()

    with pytest.raises(SendTimedOut):
        sender.post({"transaction_id": "t-1"})

    assert time.monotonic() - started < 1  # not retried: the server is busy


@dataclass
class Txn:
    pattern: str
    payload: dict[str, Any]

    def stamp(self, now: Any) -> None:
        pass


@dataclass
class Simulator:
    run: str = "r"
    population: Any = field(default_factory=lambda: type("P", (), {"customers": [1, 2]})())

    def stream(self, now: Any, *, rate: float) -> Iterator[Txn]:
        for n in range(3):
            yield Txn("normal", {"transaction_id": f"live-r-{n}"})


class TimesOutOnce:
    timeout = 10.0

    def __init__(self) -> None:
        self.calls = 0

    def post(self, payload: dict[str, Any]) -> tuple[int, Any]:
        self.calls += 1
        if self.calls == 2:
            raise SendTimedOut
        return 200, {"outcome": "approve"}


def test_the_traffic_counts_and_prints_a_timed_out_send_and_goes_on():
    out = io.StringIO()
    command = Command(stdout=out)
    sender = TimesOutOnce()

    command._run(sender, Simulator(), {"rate": 1000, "count": 3, "duration": 0, "seed": 7})  # type: ignore[arg-type]

    assert sender.calls == 3
    printed = out.getvalue()
    assert f"live-r-1: {TIMED_OUT} after 10 s" in printed
    assert f"3 sent | normal: approve 2, {TIMED_OUT} 1" in printed
