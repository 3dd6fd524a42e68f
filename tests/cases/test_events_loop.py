"""Case events are sent on one event loop per process, started once, not one per send."""

import asyncio
import os
import threading

import pytest

from cases import events
from tests.conftest import TIMED_WAITS_FAKED


def _loop_thread() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    seen: list[tuple[asyncio.AbstractEventLoop, threading.Thread]] = []

    async def where() -> None:
        seen.append((asyncio.get_running_loop(), threading.current_thread()))

    events.SEND_LOOP.run(where())
    return seen[0]


def test_every_send_runs_on_the_same_loop_and_thread():
    first = _loop_thread()

    assert _loop_thread() == first
    assert first[1] is not threading.current_thread()
    assert first[1].daemon


def test_sends_from_several_threads_share_the_loop():
    loops: list[asyncio.AbstractEventLoop] = []
    threads = [threading.Thread(target=lambda: loops.append(_loop_thread()[0])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(set(map(id, loops))) == 1


def test_what_the_send_raises_is_raised_to_the_sender():
    async def fails() -> None:
        raise OSError("layer gone")

    with pytest.raises(OSError, match="layer gone"):
        events.SEND_LOOP.run(fails())
    assert _loop_thread()[0].is_running()  # and the loop goes on


@TIMED_WAITS_FAKED
def test_a_send_that_outlives_its_bound_raises_a_timeout(settings):
    settings.CHANNEL_SEND_TIMEOUT_SECONDS = 0.0

    async def stuck() -> None:
        await asyncio.sleep(5)

    with pytest.raises(TimeoutError):
        events.SEND_LOOP.run(stuck())


def test_a_forked_process_starts_a_loop_of_its_own():
    # The parent's loop thread does not exist in a child: without a loop of its own, the
    # child's send would wait out its bound.
    parent_loop = _loop_thread()[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running pytest's exit
        try:
            child_loop = _loop_thread()[0]
            os.write(write, b"own" if child_loop is not parent_loop else b"same")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)

    assert os.read(read, 16) == b"own"
