"""What one ``RedisFeatureStore.observe`` costs, in figures that hold up on a loaded machine.

Run ``python bench/feature_store.py``. It simulates ``--days`` of ``--customers`` (the
simulator the other benches use), records all but the last ``--events`` into a Redis store under
a unique key prefix (``REDIS_URL``, loopback only; the keys are deleted at the end), then times
the last ``--events`` one by one:

- Redis server time per event: ``INFO commandstats`` (``usec`` of EVALSHA/EVAL) before and
  after, and the Redis process's CPU (``/proc/<pid>/stat``, when Redis runs on this machine).
  Both are per server, not per client: on a shared Redis, another client's work is in them (a
  private ``redis-server`` on a port of your own gives clean figures). commandstats also counts
  the commands a script runs: the bench reports them per event.
- client CPU per event (``time.process_time``), split into building the arguments,
  the round trip (packing, socket, reading the reply) and decoding the payload.
- wall-clock p50/p99 of the whole ``observe`` (noisy under load: report it as such).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import process_cpu_seconds  # noqa: E402
from scoring.features.event import Event  # noqa: E402
from scoring.features.store import RedisFeatureStore  # noqa: E402
from scoring.simulation.history import HistorySimulator  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SCOPE = "bench"


def simulated_events(*, seed: int, customers: int, days: int) -> list[Event]:
    simulator = HistorySimulator(seed=seed, customers=customers)
    history = simulator.generate(start=datetime(2026, 1, 1, tzinfo=UTC), days=days)
    return [event_of(t.payload, t.occurred_at.timestamp()) for t in history]


def event_of(payload: dict[str, Any], ts: float) -> Event:
    return Event(
        ref=str(payload["transaction_id"]),
        ts=ts,
        amount=float(Decimal(payload["amount"])),
        customer_id=payload["customer_id"],
        merchant_id=payload["merchant_id"],
        card_id=payload.get("card_id"),
        device_id=payload.get("device_id"),
        ip=payload.get("ip"),
        country=payload.get("country"),
        payee_id=payload.get("payee_id"),
        channel=payload.get("channel"),
        fingerprint=f"fp-{payload['transaction_id']}",
    )


@contextmanager
def bench_store(url: str) -> Iterator[tuple[RedisFeatureStore, redis.Redis]]:
    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback Redis: {url}")
    prefix = f"fo:bench-store:{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(url)
    store = RedisFeatureStore(redis.Redis.from_url(url), prefix=prefix)
    try:
        store.cold_publish(1.0, [])
        yield store, client
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()


def server_counters(client: redis.Redis) -> tuple[int, int, int]:
    """(script calls, script usec, all calls) from INFO commandstats."""
    stats: dict[str, Any] = client.info("commandstats")
    script_calls = script_usec = total = 0
    for name, values in stats.items():
        total += int(values["calls"])
        if name in ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_fcall"):
            script_calls += int(values["calls"])
            script_usec += int(values["usec"])
    return script_calls, script_usec, total


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(store: RedisFeatureStore, client: redis.Redis, events: Sequence[Event]) -> None:
    from scoring.features.store import payload_to_snapshot

    redis_pid = int(client.info("server")["process_id"])
    raw = store._script  # the bench splits observe() into its steps
    build_cpu = trip_cpu = decode_cpu = 0.0
    walls: list[float] = []
    calls0, usec0, total0 = server_counters(client)
    redis_cpu0 = process_cpu_seconds(redis_pid)
    cpu0 = time.process_time()
    for event in events:
        wall = time.perf_counter()
        a = time.process_time()
        args = store._args(event, SCOPE)
        b = time.process_time()
        answer = raw(args)
        c = time.process_time()
        payload_to_snapshot(answer.decode()[1:], event, replayed=False)
        d = time.process_time()
        walls.append((time.perf_counter() - wall) * 1000)
        build_cpu, trip_cpu, decode_cpu = build_cpu + b - a, trip_cpu + c - b, decode_cpu + d - c
    cpu = time.process_time() - cpu0
    redis_cpu1 = process_cpu_seconds(redis_pid)
    calls1, usec1, total1 = server_counters(client)
    n = len(events)
    # Between the two INFO calls: our n scripts, what they ran, and the second INFO itself.
    inner = (total1 - total0) - n - 1
    print(f"events measured: {n}")
    print(f"server, script usec per call (commandstats): {(usec1 - usec0) / (calls1 - calls0):.1f}")
    if redis_cpu0 is not None and redis_cpu1 is not None:
        print(f"server, Redis process CPU per event: {(redis_cpu1 - redis_cpu0) / n * 1e6:.1f} us")
    print(f"  commands run per event (inside the script; any other client's too): {inner / n:.1f}")
    print(f"  scripts run by other clients meanwhile: {calls1 - calls0 - n}")
    print(f"client CPU per event: {cpu / n * 1e6:.1f} us")
    print(f"  arguments: {build_cpu / n * 1e6:.1f} us")
    print(f"  round trip (pack, socket, reply): {trip_cpu / n * 1e6:.1f} us")
    print(f"  payload decode: {decode_cpu / n * 1e6:.1f} us")
    print(
        f"wall (under load) p50 {statistics.median(walls):.3f} ms, "
        f"p99 {percentile(walls, 0.99):.3f} ms"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--events", type=int, default=5000, help="events measured")
    args = parser.parse_args(argv)
    url = os.getenv("REDIS_URL") or DEFAULT_REDIS_URL
    events = simulated_events(seed=args.seed, customers=args.customers, days=args.days)
    if len(events) <= args.events:
        raise SystemExit(f"{len(events)} events simulated, more than {args.events} needed")
    warm, timed = events[: -args.events], events[-args.events :]
    with bench_store(url) as (store, client):
        started = time.perf_counter()
        for event in warm:
            store.observe(event, scope=SCOPE)
        print(f"warmed with {len(warm)} events in {time.perf_counter() - started:.1f} s")
        keys = sum(1 for _ in client.scan_iter(match=f"{store._prefix}:*", count=1000))
        print(f"keys after warm-up: {keys}")
        measure(store, client, timed)


if __name__ == "__main__":
    main()
