"""Driving the server: requests sent from keep-alive connections, timed, with the CPU each
kind of process spent."""

from __future__ import annotations

import itertools
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import redis

from bench.measure import DISTURBED_SHARE, BenchError, Connection, CpuSample
from bench.mixes import PayloadMaker, RealisticMix, StressMix, payload, requests_build

DECISIONS = "/api/v1/decisions"
# What each phase sends where: the three floors (bench/floor.py), then the two traffic mixes of
# the decision endpoint (bench/mixes.py). "lean" is the floor every figure is compared with.
ENDPOINTS: dict[str, str] = {
    "lean": "/bench/floor/lean",
    "validate": "/bench/floor/validate",
    "write": "/bench/floor/write",
    "realistic": DECISIONS,
    "stress": DECISIONS,
}
MIXES = ("realistic", "stress")


def payload_makers() -> dict[str, PayloadMaker]:
    """A fresh payload maker per phase name (the mixes keep state: one per run)."""
    return {
        "lean": payload,
        "validate": payload,
        "write": payload,
        "realistic": RealisticMix(),
        "stress": StressMix(),
    }


@dataclass
class PhaseResult:
    endpoint: str
    mode: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # transport errors
    samples: list[str] = field(default_factory=list)  # a few non-201 responses
    seconds: float = 0.0
    connects: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by kind, see CpuSample
    lua_usec: float | None = None  # Redis's own time per feature-store script call
    outcomes: dict[str, int] = field(default_factory=dict)  # of the 201 decisions' responses

    @property
    def challenged_share(self) -> float:
        """The share of decisions answered other than approve (review, decline)."""
        total = sum(self.outcomes.values())
        challenged = total - self.outcomes.get("approve", 0)
        return challenged / total if total else math.nan

    @property
    def disturbed(self) -> bool:
        """Whether processes foreign to the benchmark took a noticeable share of the CPU."""
        machine = self.cpu.get("machine", 0.0)
        return machine > 0 and self.cpu.get("other", 0.0) / machine > DISTURBED_SHARE

    def cpu_ms(self, kind: str) -> float:
        """CPU milliseconds per request spent by one kind of process."""
        return self.cpu.get(kind, math.nan) * 1000 / self.n if self.n else math.nan

    @property
    def n(self) -> int:
        return len(self.latencies_ms)

    @property
    def failures(self) -> int:
        return sum(n for code, n in self.statuses.items() if code != 201) + len(self.errors)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def rps(self) -> float:
        return self.n / self.seconds if self.seconds else math.nan


def result_line(r: PhaseResult) -> str:
    return (
        f"n={r.n:<5} p50={r.percentile(0.5):6.2f} p95={r.percentile(0.95):6.2f} "
        f"p99={r.percentile(0.99):6.2f} max={max(r.latencies_ms, default=math.nan):7.2f} ms  "
        f"{r.rps:7.1f} req/s  non-201/errors={r.failures}"
    )


@dataclass
class _Tally:
    """What one connection saw during a phase."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    connects: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count_outcome(self, body: bytes) -> None:
        """Count a decision's outcome (other endpoints' bodies have none)."""
        if b'"outcome"' in body:
            outcome = str(json.loads(body).get("outcome"))
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def merge_into(self, result: PhaseResult) -> None:
        result.latencies_ms += self.latencies_ms
        for code, n in self.statuses.items():
            result.statuses[code] = result.statuses.get(code, 0) + n
        result.errors += self.errors
        result.samples += self.samples[: 3 - len(result.samples)]
        result.connects += self.connects
        for outcome, n in self.outcomes.items():
            result.outcomes[outcome] = result.outcomes.get(outcome, 0) + n


def _drive(
    port: int,
    requests: Sequence[bytes],
    cursor: Iterator[int],
    stop: threading.Event,
    deadline: float,
) -> _Tally:
    """Send requests from the shared cursor on one keep-alive connection until none are left."""
    tally = _Tally()
    conn = Connection(port, timeout=10.0)
    try:
        while not stop.is_set():
            i = next(cursor)
            if i >= len(requests) or time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                status, body = conn.request(requests[i])
            except OSError as exc:
                conn.close()
                tally.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if status == 201:
                tally.count_outcome(body)
            elif len(tally.samples) < 3:
                tally.samples.append(f"HTTP {status}: {body[:200].decode(errors='replace')}")
    finally:
        conn.close()
        tally.connects = conn.reconnects
    return tally


def run_phase(
    requests: Sequence[bytes],
    *,
    port: int,
    concurrency: int,
    result: PhaseResult,
    deadline: float,
    server_pgid: int,
    worker_pgid: int | None = None,
) -> PhaseResult:
    """Send every request once, from ``concurrency`` keep-alive connections."""
    cursor = itertools.count()  # next() on a count is atomic under the GIL
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        tally = _drive(port, requests, cursor, stop, deadline)
        with lock:
            tally.merge_into(result)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    cpu_before = CpuSample.take(server_pgid, worker_pgid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
    finally:
        stop.set()
    result.seconds = time.perf_counter() - started
    result.cpu = CpuSample.take(server_pgid, worker_pgid).since(cpu_before)
    if time.monotonic() > deadline:
        raise BenchError("the benchmark passed its time limit (--max-seconds)")
    return result


@dataclass(frozen=True)
class LoadPlan:
    requests: int
    warmup: int
    concurrency: int
    deadline: float


def lua_stats(client: redis.Redis) -> tuple[int, int]:
    """Calls of the feature store's Lua script and Redis's microseconds in them, so far."""
    stats = client.info("commandstats")
    calls = usec = 0
    for name in ("cmdstat_evalsha", "cmdstat_eval"):
        entry = stats.get(name) or {}
        calls += int(entry.get("calls", 0))
        usec += int(entry.get("usec", 0))
    return calls, usec


@dataclass(frozen=True)
class Target:
    """Where a run's phases send: the server's port and the integrator's API key."""

    port: int
    key: str
    server_pgid: int
    worker_pgid: int | None = None  # the bench's Celery worker, counted apart from "other"


def load_run(*, target: Target, run_tag: str, plan: LoadPlan, redis_url: str) -> list[PhaseResult]:
    """Every phase of ``ENDPOINTS``, sequentially and then at ``plan.concurrency``, each after
    its own warm-up; each phase's line printed as it ends."""
    results = []
    rng = random.Random(20261124)
    makers = payload_makers()
    client = redis.Redis.from_url(redis_url)
    try:
        for mode, concurrency in (("seq", 1), (f"c{plan.concurrency}", plan.concurrency)):
            for name, path in ENDPOINTS.items():
                build = _builder(target, path, makers[name], rng)
                tag = f"{run_tag}-{name}-{mode}"
                warm = run_phase(
                    build(f"{tag}-w", plan.warmup),
                    port=target.port,
                    concurrency=concurrency,
                    result=PhaseResult(name, f"{mode}-warmup"),
                    deadline=plan.deadline,
                    server_pgid=target.server_pgid,
                    worker_pgid=target.worker_pgid,
                )
                if warm.failures:
                    raise BenchError(f"warm-up of {path} failed: {warm.errors[:3] + warm.samples}")
                calls, usec = lua_stats(client)
                result = run_phase(
                    build(tag, plan.requests),
                    port=target.port,
                    concurrency=concurrency,
                    result=PhaseResult(name, mode),
                    deadline=plan.deadline,
                    server_pgid=target.server_pgid,
                    worker_pgid=target.worker_pgid,
                )
                calls_after, usec_after = lua_stats(client)
                if calls_after > calls:
                    result.lua_usec = (usec_after - usec) / (calls_after - calls)
                print(f"  {name:<9} {path:<22} {mode:<4} {result_line(result)}", flush=True)
                results.append(result)
    finally:
        client.close()
    return results


def _builder(
    target: Target, path: str, make: PayloadMaker, rng: random.Random
) -> Callable[[str, int], list[bytes]]:
    def build(tag: str, count: int) -> list[bytes]:
        return requests_build(
            path=path, key=target.key, port=target.port, tag=tag, count=count, rng=rng, make=make
        )

    return build


def decisions_run(
    *, target: Target, run_tag: str, count: int, concurrency: int, deadline: float
) -> PhaseResult:
    """``count`` decisions, the two mixes alternating, at ``concurrency``; built a thousand at
    a time, so that a payment's time stays close to when it is sent."""
    makers = payload_makers()
    rng = random.Random(20261203)
    result = PhaseResult("mixed", f"c{concurrency}")
    seconds = 0.0
    for start in range(0, count, 1000):
        size = min(1000, count - start)
        realistic, stress = (
            _builder(target, DECISIONS, makers[name], rng)(
                f"{run_tag}-rss-{name}-{start}", (size + 1) // 2
            )
            for name in MIXES
        )
        alternating = [r for pair in zip(realistic, stress, strict=True) for r in pair]
        run_phase(
            alternating[:size],
            port=target.port,
            concurrency=concurrency,
            result=result,
            deadline=deadline,
            server_pgid=target.server_pgid,
            worker_pgid=target.worker_pgid,
        )
        seconds += result.seconds
    result.seconds = seconds
    return result
