"""What reading cold values as of a transaction's own period costs live traffic.

Run ``python bench/cold_lookup.py [--store memory|redis] [--n 20000]``: observes ``n`` live
events (in the current generation's period) into a store holding a generation, once directly
and once through ``PointInTimeCold`` (whose source fails if it is ever asked), and prints the
time per observe of each. Needs no database; ``--store redis`` uses ``REDIS_URL``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fraudops.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("PII_HASH_KEY", "bench")

import django

django.setup()

from scoring.cold_lookup import PointInTimeCold  # noqa: E402
from scoring.features.cold import ColdValues, as_of_for  # noqa: E402
from scoring.features.event import Event  # noqa: E402
from scoring.features.memory_store import MemoryFeatureStore  # noqa: E402
from scoring.features.online import OnlineStore  # noqa: E402
from scoring.features.store import FeatureStore, RedisFeatureStore  # noqa: E402

PERIOD = 3600.0


class NeverAsked:
    def values(self, scope: str, event: Event, as_of: float) -> ColdValues:
        raise AssertionError("live traffic must not compute cold values")

    def history_before(self, scope: str, as_of: float) -> bool:
        raise AssertionError("live traffic must not look for history")


def _store(kind: str) -> OnlineStore:
    if kind == "redis":
        url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        return RedisFeatureStore.from_url(url, prefix=f"fo:bench:{uuid.uuid4().hex[:8]}")
    return MemoryFeatureStore()


def _run(store: FeatureStore, events: list[Event]) -> list[float]:
    times = []
    for event in events:
        started = time.perf_counter()
        store.observe(event, scope="b")
        times.append((time.perf_counter() - started) * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", choices=["memory", "redis"], default="memory")
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    now = time.time()
    as_of = as_of_for(now, PERIOD)
    for label, wrap in (("direct", False), ("PointInTimeCold", True), ("direct again", False)):
        raw = _store(args.store)
        raw.cold_publish(as_of, [("c:b:c1", "10.0,10.0,3,,")])
        store: FeatureStore = PointInTimeCold(raw, NeverAsked(), period=PERIOD) if wrap else raw
        events = [
            Event(ref=f"{label}-{i}", ts=as_of + i * 0.01, amount=10.0, customer_id=f"c{i % 500}",
                  merchant_id=f"m{i % 50}", card_id=f"k{i % 700}")
            for i in range(args.n)
        ]  # fmt: skip
        times = _run(store, events)
        print(
            f"{args.store:6} {label:16} median {statistics.median(times):7.1f} µs  "
            f"p99 {statistics.quantiles(times, n=100)[98]:7.1f} µs per observe"
        )


if __name__ == "__main__":
    main()
