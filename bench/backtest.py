"""Backtest benchmark: stored decisions re-decided per second by a draft's backtest.

Run ``python bench/backtest.py``. It creates the PostgreSQL database ``fraudops_bench_backtest``
on the server at ``DATABASE_URL`` (loopback only; dropped first and at the end), migrates,
publishes 20 rules, bulk-inserts ``--decisions`` stored decisions (transactions with every
feature recorded and a model's score, a twentieth labelled), and backtests a draft (one rule
edited, one added, other thresholds) over all of them: the published policy and the draft
each re-decide every decision through ``decide()`` on its recorded features and score.
``--processes`` workers (default: the machine's cores) each take chunks of decision ids with a
database connection of their own; the parent merges their results. The figure counts the
decisions, not the two decides each gets. Target: at least 5,000 decisions/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import bench_services, django_setup_in_process, services_from_env  # noqa: E402

BENCH_DB = "fraudops_bench_backtest"
TARGET = 5000.0
CHUNK = 5000

RULES = [
    ("velocity_card_1m", "card_txn_count_1m >= 5", "decline"),
    ("velocity_card_1h", "card_txn_count_1h >= 20 and amount > 100", "review"),
    ("big_amount", "amount > 2500", "review"),
    ("huge_amount", "amount > 9000", "decline_review"),
    ("night_big", "local_hour < 5 and amount > 800", "review"),
    ("new_card_big", "card_seconds_since_first < 600 and amount > 500", "review"),
    ("new_device", "device_new_for_customer == 1 and amount > 1500", "review"),
    ("new_country", "country_new_for_customer == 1 and amount > 1000", "review"),
    ("zscore", "customer_amount_zscore > 6", "review"),
    ("many_merchants", "card_distinct_merchants_24h >= 8", "review"),
    ("many_countries", "card_distinct_countries_24h >= 3", "decline"),
    ("device_cards", "device_distinct_cards_1h >= 4", "decline"),
    ("mule_payee", "payee_distinct_payers_24h >= 10", "review"),
    ("ip_burst", "ip_txn_count_1m >= 10", "review"),
    ("merchant_risky", "merchant_fraud_rate_28d > 0.2 and amount > 200", "review"),
    ("atm_night", "channel_atm == 1 and local_hour < 4", "review"),
    ("transfer_big", "channel_transfer == 1 and amount > 3000", "review"),
    ("country_xx", "country == 'XX'", "decline"),
    ("trusted_merchant", "merchant_id == 'm-trusted' and amount < 50", "allow"),
    ("domain_bad", "email_domain == 'mailinator.com'", "decline"),
]


def worker_setup(database_url: str) -> None:
    """A worker (spawned, not forked: a forked child would share the parent's pooled
    connections) sets Django up with a connection of its own."""
    django_setup_in_process(database_url, migrate=False)


def worker_ready(_: int) -> int:
    from django.db import connection

    connection.ensure_connection()
    return os.getpid()


def features_for(rng: random.Random, amount: float, names: Sequence[str]) -> dict[str, Any]:
    features: dict[str, Any] = {name: round(rng.random() * 3, 3) for name in names}
    features.update(
        amount=amount, local_hour=rng.randrange(24), card_txn_count_1m=rng.randrange(6),
        card_txn_count_1h=rng.randrange(22), card_seconds_since_first=rng.randrange(2_000_000),
        device_new_for_customer=int(rng.random() < 0.1),
        country_new_for_customer=int(rng.random() < 0.05),
        customer_amount_zscore=rng.gauss(0, 2), card_distinct_merchants_24h=rng.randrange(9),
        card_distinct_countries_24h=int(rng.random() < 0.01) * 3,
        device_distinct_cards_1h=rng.randrange(2),
        payee_distinct_payers_24h=rng.randrange(11), ip_txn_count_1m=rng.randrange(11),
        merchant_fraud_rate_28d=rng.random() * 0.25,
    )  # fmt: skip
    features["customer_amount_mean_30d"] = None  # a missing value, as cold starts record
    return features


def history_create(count: int, until: datetime) -> None:
    """``count`` stored decisions over the 30 days before ``until`` (bulk inserts)."""
    from decimal import Decimal

    from rules.models import Rule
    from rules.services import rule_save, thresholds_set
    from scoring.features.definitions import FEATURE_NAMES
    from scoring.models import Decision, Integrator, LabelEvent, Transaction

    for name, expression, action in RULES:
        rule_save(rule=Rule(name=name, expression=expression, action=action))
    thresholds_set(review_at=0.6, decline_at=0.9)
    integrator = Integrator.objects.create(name="bench")
    rng = random.Random(13)
    channels = ("ecom", "pos", "wallet", "transfer", "atm")
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        txns = Transaction.objects.bulk_create(
            Transaction(
                integrator=integrator, transaction_id=f"b-{start + i}",
                occurred_at=until - timedelta(seconds=(start + i) * 30 * 86400 / count + 1),
                amount=Decimal(f"{rng.lognormvariate(4, 1.4):.2f}"), currency="EUR",
                customer_id=f"c-{rng.randrange(20_000)}", merchant_id=f"m-{rng.randrange(500)}",
                channel=rng.choice(channels), card_id=f"card-{rng.randrange(30_000)}",
                country="XX" if rng.random() < 0.004 else rng.choice(("DE", "FR", "NL", "BE")),
                device_id=f"d-{rng.randrange(9000)}",
                email_domain="mailinator.com" if rng.random() < 0.002 else "example.com",
                request_hash="0" * 64,
            )
            for i in range(size)
        )  # fmt: skip
        Decision.objects.bulk_create(
            Decision(
                transaction=txn, outcome="approve", score=rng.betavariate(1, 12),
                policy_revision=1, latency_ms=1.0, model_version="bench-model",
                features=features_for(rng, float(txn.amount), FEATURE_NAMES),
            )
            for txn in txns
        )  # fmt: skip
        LabelEvent.objects.bulk_create(
            LabelEvent(
                transaction=txn, label="fraud" if rng.random() < 0.3 else "legit",
                source="chargeback", reported_at=until,
            )
            for txn in txns[::20]
        )  # fmt: skip


def candidate() -> Any:
    from rules import draft_changes

    return draft_changes.changes_from(
        {
            "rules": [
                {"name": "big_amount", "expression": "amount > 2000", "action": "review",
                 "description": "", "mode": "live", "rollout_percent": None},
                {"name": "night_small", "expression": "local_hour < 3 and amount > 300",
                 "action": "review", "description": "", "mode": "live",
                 "rollout_percent": None},
            ],
            "thresholds": {"review_at": 0.55, "decline_at": 0.92},
        }
    )  # fmt: skip


def chunk_backtest(job: tuple[datetime, datetime, datetime, datetime]) -> tuple[Any, float]:
    """One worker's share, the decisions of transactions that occurred in [first, last) —
    a slice of the window, read by the same index as the whole window — on its own database
    connection. Returns its result and the CPU seconds it took."""
    from scoring.backtest import decisions_backtest, window_decisions

    first, last, since, until = job
    cpu = time.process_time()
    decisions = window_decisions(since=first, until=last)
    result = decisions_backtest(
        changes=candidate(), decisions=decisions, since=since, until=until, moment=until
    )
    return result, time.process_time() - cpu


def measure(
    processes: int, database_url: str, since: datetime, until: datetime
) -> tuple[Any, float, float]:
    """(the merged result, wall seconds, the workers' CPU seconds in all)."""
    from scoring.models import Transaction

    # Slices of the window by time, CHUNK transactions each: a slice by id would make every
    # worker's query walk the whole window's index to find its ids.
    times = sorted(
        Transaction.objects.filter(occurred_at__gte=since, occurred_at__lt=until).values_list(
            "occurred_at", flat=True
        )
    )
    bounds = [*times[::CHUNK], until]
    jobs = [(bounds[i], bounds[i + 1], since, until) for i in range(len(bounds) - 1)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=worker_setup, initargs=(database_url,)) as pool:
        pool.map(worker_ready, range(processes * 4))  # started and connected: not timed
        started = time.perf_counter()
        parts = pool.map(chunk_backtest, jobs, chunksize=1)
        seconds = time.perf_counter() - started
    result, cpu = parts[0]
    for part, part_cpu in parts[1:]:
        result.merge(part)
        cpu += part_cpu
    return result, seconds, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look")
    args = parser.parse_args(argv)
    services = services_from_env(BENCH_DB, int(os.getenv("BENCH_REDIS_DB", "9")))
    with bench_services(services, keep=args.keep):
        django_setup_in_process(services.database_url)
        from django.utils import timezone

        until = timezone.now()
        since = until - timedelta(days=31)
        started = time.perf_counter()
        history_create(args.decisions, until)
        print(f"{args.decisions} stored decisions written in {time.perf_counter() - started:.1f} s")
        result, seconds, cpu = measure(args.processes, services.database_url, since, until)
        from django.db import connections

        connections.close_all()
    rate = result.decisions / seconds
    print(f"backtest of a draft (2 rule changes, thresholds) with {len(RULES)} published rules")
    print(f"  {result.decisions} decisions re-decided twice (published, draft) in {seconds:.2f} s")
    print(f"  on {args.processes} processes; {result.changed} outcomes changed")
    # On a shared machine the wall figure depends on what else runs; the CPU one does not.
    per_cpu = result.decisions / cpu
    print(
        f"  {per_cpu:,.0f} decisions per CPU-second of a worker (their own time, not the"
        f" database's): {per_cpu * args.processes:,.0f}/s on {args.processes} idle cores"
    )
    print(f"  published {dict(result.before.outcomes)} → draft {dict(result.after.outcomes)}")
    verdict = "PASS" if rate >= TARGET else "MISS"
    print(f"[{verdict}] {rate:,.0f} decisions/s ≥ {TARGET:,.0f}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
