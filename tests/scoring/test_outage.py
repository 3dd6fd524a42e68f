"""The outage tracker: one line when a dependency goes down, one when it is back, with counts."""

import logging
import threading
import time
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from scoring.outage import Outage

LOGGER = "tests.outage"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def outage(
    name: str = "feature store",
    *,
    probe_every: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outage:
    return Outage(
        name,
        consequence="decisions degraded",
        probe_every=probe_every,
        clock=clock,
        log=logging.getLogger(LOGGER),
    )


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends_with_its_count(caplog):
    tracker = outage()

    for _ in range(312):
        tracker.failed(TimeoutError("Timeout reading from socket"))
    tracker.succeeded()
    tracker.succeeded()

    start, end = lines(caplog)
    assert start.startswith("feature store unavailable since ")
    assert start.endswith(": Timeout reading from socket")
    assert end.startswith("feature store available again")
    assert end.endswith(", 312 decisions degraded")
    assert [r.levelname for r in caplog.records if r.name == LOGGER] == ["ERROR", "WARNING"]
    assert all(r.exc_info is None for r in caplog.records)


def test_calls_that_succeed_log_nothing(caplog):
    tracker = outage()

    for _ in range(100):
        tracker.succeeded()

    assert lines(caplog) == []
    assert not tracker.down


def test_a_timeout_without_a_message_is_named_by_its_type(caplog):
    tracker = outage()

    tracker.failed(TimeoutError())

    assert lines(caplog)[0].endswith(": TimeoutError")


def test_each_outage_is_logged_on_its_own_with_its_own_count(caplog):
    tracker = outage()

    tracker.failed("down")
    tracker.failed("down")
    tracker.succeeded()
    tracker.failed("down again")
    tracker.succeeded()

    assert len(lines(caplog)) == 4
    assert lines(caplog)[1].endswith(", 2 decisions degraded")
    assert lines(caplog)[2].endswith(": down again")
    assert lines(caplog)[3].endswith(", 1 decisions degraded")


def test_concurrent_failures_start_one_outage_and_are_all_counted(caplog):
    tracker = outage()
    barrier = threading.Barrier(8)

    def fail_many() -> None:
        barrier.wait()
        for _ in range(250):
            tracker.failed(ConnectionError("refused"))

    threads = [threading.Thread(target=fail_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tracker.succeeded()

    start, end = lines(caplog)
    assert "unavailable since" in start
    assert end.endswith(", 2000 decisions degraded")


def test_a_dependency_with_a_fallback_is_tried_once_per_probe_period_while_down(caplog):
    clock = Clock()
    tracker = outage("API-key cache", probe_every=2.0, clock=clock)
    assert tracker.should_try()
    tracker.failed("hung")

    tries = []
    for _ in range(10):  # 5 s in steps of 0.5 s
        clock.now += 0.5
        tries.append(tracker.should_try())
        if tries[-1]:
            tracker.failed("still hung")
        else:
            tracker.skipped()

    assert tries == [False, False, False, True, False, False, False, True, False, False]
    tracker.succeeded()
    assert len(lines(caplog)) == 2
    assert lines(caplog)[1].endswith(", 11 decisions degraded")
    assert tracker.should_try()


def test_a_dependency_without_a_fallback_is_tried_on_every_call_while_down():
    tracker = outage()
    tracker.failed("hung")

    assert all(tracker.should_try() for _ in range(10))


def test_the_outage_state_is_exported_as_a_gauge():
    def up() -> float | None:
        return REGISTRY.get_sample_value(
            "fraudops_dependency_up", {"dependency": "gauge test dependency"}
        )

    tracker = outage("gauge test dependency")
    assert up() == 1.0

    tracker.failed("down")
    assert up() == 0.0

    tracker.succeeded()
    assert up() == 1.0
