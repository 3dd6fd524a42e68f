"""Queue page benchmark: server time to render an analyst's queue with 10,000 open cases,
filters applied.

Run ``python bench/queue_page.py`` (or ``make bench``). On a throwaway PostgreSQL database
(``--database``, default ``fraudops_bench_queue``, on the server at ``DATABASE_URL``; created
fresh and dropped at the end, see bench/services.py) it migrates, writes ``--cases`` open cases
(each with its transaction and challenged decision; a tenth claimed, varied amounts, channels,
rules and customers) across three queues, then renders ``/cases/`` for an analyst through
Django's test client (the whole view: middleware, queries, template) with each of a few filter
sets, ``--requests`` times each after a warm-up, and prints the median, p95 and queries per
set. Target: every set's median under 300 ms.

(Not ``bench/queue.py``: run as a script, that name would shadow the standard library's
``queue``, which the database pool imports.)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import (  # noqa: E402
    bench_services,
    django_setup_in_process,
    services_from_args,
    services_parser,
)

TARGET_MS = 300.0

# What an analyst filters by (the query string of /cases/).
FILTER_SETS: dict[str, dict[str, str]] = {
    "no filter": {},
    "amount 100-1000, ecom": {"amount": "100-1000", "channel": "ecom"},
    "rule big_amount, open, by amount": {
        "rule": "big_amount", "status": "open", "sort": "amount-desc",
    },
    "queue Transfers, by SLA": {"queue": "QUEUE", "sort": "sla"},
    "search a customer": {"q": "c-42"},
    "search an e-mail": {"q": "someone-7@example.com"},
    "page 50, oldest first": {"sort": "oldest", "page": "50"},
}  # fmt: skip


def cases_create(count: int) -> tuple[Any, int]:
    """``count`` active cases over three queues (a tenth claimed); the analyst who sees them
    and the id of the Transfers queue."""
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from cases.models import Queue
    from cases.opening import default_queue_ensure
    from rules.models import Rule

    analyst = User.objects.create_user("bench-analyst")  # logged in with force_login
    analyst.groups.add(Group.objects.get(name="analyst"))
    queues = [
        default_queue_ensure(),
        Queue.objects.create(name="High value", position=1, min_amount=Decimal(1000)),
        Queue.objects.create(name="Transfers", position=2, match_channel="transfer"),
    ]
    now = timezone.now()
    txns = _transactions(count, now)
    _cases(_decisions(txns), txns, queues, analyst, now)
    # The queue's rule filter offers the rules that exist now.
    Rule.objects.bulk_create(
        [
            Rule(name="review_all", expression="amount >= 0", action="review"),
            Rule(name="big_amount", expression="amount >= 1000", action="review"),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return analyst, queues[2].pk


def _transactions(count: int, now: datetime) -> list[Any]:
    from decimal import Decimal

    from scoring.models import Integrator, Transaction
    from scoring.pii import email_hash

    integrator = Integrator.objects.create(name="bench")
    channels = ("ecom", "pos", "wallet", "transfer")
    return Transaction.objects.bulk_create(
        (
            Transaction(
                integrator=integrator, transaction_id=f"q-{i}",
                occurred_at=now - timedelta(minutes=i), amount=Decimal(10 + i * 7 % 3000),
                currency="EUR", customer_id=f"c-{i % 997}", merchant_id=f"m-{i % 31}",
                channel=channels[i % 4], card_id=f"card-{i % 1999}", device_id=f"dev-{i % 1499}",
                ip=f"10.{i % 250}.{i % 7}.{i % 200 + 1}",
                email_hash=email_hash(f"someone-{i % 3001}@example.com"), request_hash="0" * 64,
            )
            for i in range(count)
        ),
        batch_size=2000,
    )  # fmt: skip


def _rules_of(amount: Any) -> list[Any]:
    fired = [{"rule": "review_all", "version": 1, "action": "review", "expression": "x"}]
    if amount >= 1000:
        fired.append({"rule": "big_amount", "version": 1, "action": "review", "expression": "y"})
    return fired


def _decisions(txns: list[Any]) -> list[Any]:
    from scoring.models import Decision

    return Decision.objects.bulk_create(
        (
            Decision(
                transaction=txn, outcome="review" if i % 5 else "decline",
                score=(i % 100) / 100, policy_revision=1, latency_ms=1.0,
                features={"amount": float(txn.amount)}, rules=_rules_of(txn.amount),
                reasons=[{"code": "rule.review_all", "text": "Review all", "contribution": None}],
            )
            for i, txn in enumerate(txns)
        ),
        batch_size=2000,
    )  # fmt: skip


def _cases(
    decisions: list[Any], txns: list[Any], queues: list[Any], analyst: Any, now: datetime
) -> None:
    from cases.models import Case, CaseStatus
    from cases.opening import case_priority

    Case.objects.bulk_create(
        (
            Case(
                decision=decision,
                queue=queues[i % 3],
                priority=case_priority(score=decision.score, amount=float(txns[i].amount)),
                sla_due_at=now + timedelta(minutes=60 - i % 90),
                status=CaseStatus.CLAIMED if i % 10 == 0 else CaseStatus.OPEN,
                assignee=analyst if i % 10 == 0 else None,
            )
            for i, decision in enumerate(decisions)
        ),
        batch_size=2000,
    )


def measure(
    analyst: Any, params: dict[str, str], requests: int, warmup: int
) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(analyst)
    for _ in range(warmup):
        assert client.get("/cases/", params).status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/cases/", params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:500]
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cases/", params)
    rows = response.content.count(b'<tr id="case-')
    return times, len(queries), rows


def main(argv: Sequence[str] | None = None) -> int:
    # The Redis database is emptied; the page itself uses the local-memory cache.
    parser = services_parser(__doc__, database="fraudops_bench_queue", redis_db=15)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    services = services_from_args(args)
    results: list[tuple[str, float, float, int, int]] = []
    with bench_services(services):
        django_setup_in_process(services.database_url)
        started = time.perf_counter()
        analyst, transfers = cases_create(args.cases)
        created_s = time.perf_counter() - started
        for name, params in FILTER_SETS.items():
            params = {k: str(transfers) if v == "QUEUE" else v for k, v in params.items()}
            times, queries, rows = measure(analyst, params, args.requests, args.warmup)
            p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
            results.append((name, statistics.median(times), p95, queries, rows))
        from django.db import connections

        connections.close_all()
    print(f"queue page /cases/ with {args.cases} active cases on PostgreSQL {args.database}")
    print(f"  (cases written in {created_s:.1f} s; {args.requests} requests per filter set)")
    print(f"  {'filters':<36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'rows':>5}")
    for name, p50, p95, queries, rows in results:
        print(f"  {name:<36} {p50:>8.1f} {p95:>8.1f} {queries:>8} {rows:>5}")
    worst = max(p50 for _, p50, _, _, _ in results)
    verdict = "PASS" if worst < TARGET_MS else "MISS"
    print(f"[{verdict}] the slowest filter set's p50 {worst:.1f} ms < {TARGET_MS:.0f} ms")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
