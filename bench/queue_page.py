"""Queue page benchmark: server time to render an analyst's queue with 500 open cases.

Run ``python bench/queue_page.py`` (or ``make bench-queue``). It creates the PostgreSQL database
``fraudops_bench_queue`` on the server at ``DATABASE_URL`` (default: the local one; dropped
first and at the end), or with ``--sqlite`` a temporary SQLite file; migrates; writes
``--cases`` open cases (each with its transaction and review decision, a tenth of them claimed)
across three queues; then renders ``/cases/`` for an analyst ``--requests`` times in this
process through Django's test client (the whole view: middleware, queries, template), after a
warm-up, and prints p50/p95/max and the number of queries. Target: p50 under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "fraudops_bench_queue"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TARGET_MS = 300.0


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    """A throwaway database; its description."""
    if sqlite:
        with tempfile.TemporaryDirectory(prefix="fraudops-bench-queue-") as tmp:
            os.environ.pop("DATABASE_URL", None)
            os.environ["SQLITE_PATH"] = str(Path(tmp) / "bench.sqlite3")
            yield "SQLite (temporary file)"
        return
    admin_url = os.getenv("DATABASE_URL") or DEFAULT_DATABASE_URL
    parts = urlsplit(admin_url)
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback database: {admin_url}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    try:
        yield f"PostgreSQL {BENCH_DB} on {parts.hostname}"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def django_setup() -> None:
    os.environ.pop("REDIS_URL", None)
    # DEBUG is off, so settings need secrets; a throwaway database needs no real ones.
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fraudops.settings"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def cases_create(count: int) -> Any:
    """``count`` open cases over three queues (a tenth claimed); the analyst who sees them."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from cases.models import Case, CaseStatus, Queue
    from cases.opening import case_priority, default_queue_ensure
    from scoring.models import Decision, Integrator, Transaction

    analyst = User.objects.create_user("bench-analyst")  # logged in with force_login
    analyst.groups.add(Group.objects.get(name="analyst"))
    queues = [
        default_queue_ensure(),
        Queue.objects.create(name="High value", position=1, min_amount=Decimal(1000)),
        Queue.objects.create(name="Transfers", position=2, match_channel="transfer"),
    ]
    integrator = Integrator.objects.create(name="bench")
    now = timezone.now()
    txns = Transaction.objects.bulk_create(
        Transaction(
            integrator=integrator, transaction_id=f"q-{i}", occurred_at=now - timedelta(minutes=i),
            amount=Decimal(10 + i * 7 % 3000), currency="EUR", customer_id=f"c-{i % 97}",
            merchant_id=f"m-{i % 31}", channel="ecom", request_hash="0" * 64,
        )
        for i in range(count)
    )  # fmt: skip
    decisions = Decision.objects.bulk_create(
        Decision(
            transaction=txn, outcome="review", score=(i % 100) / 100, policy_revision=1,
            latency_ms=1.0, features={"amount": float(txn.amount)},
        )
        for i, txn in enumerate(txns)
    )  # fmt: skip
    Case.objects.bulk_create(
        Case(
            decision=decision,
            queue=queues[i % 3],
            priority=case_priority(score=decision.score, amount=float(txns[i].amount)),
            sla_due_at=now + timedelta(minutes=60 - i % 90),
            status=CaseStatus.CLAIMED if i % 10 == 0 else CaseStatus.OPEN,
            assignee=analyst if i % 10 == 0 else None,
        )
        for i, decision in enumerate(decisions)
    )
    return analyst


def measure(analyst: Any, requests: int, warmup: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(analyst)
    for _ in range(warmup):
        assert client.get("/cases/").status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/cases/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cases/")
    rows = response.content.count(b'<tr id="case-')
    return times, len(queries), rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    args = parser.parse_args(argv)
    with database(args.sqlite) as described:
        django_setup()
        analyst = cases_create(args.cases)
        times, queries, rows = measure(analyst, args.requests, args.warmup)
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"queue page /cases/ with {args.cases} active cases on {described}")
    print(f"  {rows} rows rendered, {queries} queries per request, {args.requests} requests")
    print(
        f"  server time (view + middleware + template) ms: p50 {p50:.1f}  p95 {p95:.1f}  ", end=""
    )
    print(f"max {max(times):.1f}")
    verdict = "PASS" if p50 < TARGET_MS else "MISS"
    print(f"[{verdict}] p50 {p50:.1f} ms < {TARGET_MS:.0f} ms")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
