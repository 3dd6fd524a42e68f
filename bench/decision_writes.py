"""What storing a decision costs: statements, round trips and CPU per ``decision_create``.

Run ``python bench/decision_writes.py [--decisions N] [--profile]``. It makes a throwaway
PostgreSQL database (``--database``, dropped at the end; DATABASE_URL's server, loopback
only), migrates, and decides ``--decisions`` fresh transactions in this process for each of
two outcomes: an approval (a transaction and a decision row) and a review (a case too, routed
through three queues). No Redis (the embedded feature store), no model (rules only), so what
is left around the database write is the rules' small cost, the same before and after.

Per decision it reports the statements Django ran (``CaptureQueriesContext``), the round trips
to PostgreSQL (libpq's trace of the connection: each Query or Sync message is one; an
implicit BEGIN and the COMMIT count, which Django does not log) and the process CPU
(``time.process_time``: robust to a loaded machine, unlike wall-clock time) and the CPU of the
PostgreSQL backend serving the connection (from ``/proc``, when the server runs on this
machine, as it must: loopback only). ``--profile`` prints cProfile's top functions of the
review loop.
"""

from __future__ import annotations

import cProfile
import io
import math
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import process_cpu_seconds
from bench.services import (
    bench_services,
    django_setup_in_process,
    services_from_args,
    services_parser,
)


def _round_trips(run: Callable[[], None]) -> int:
    """The Query and Sync messages ``run`` sends on the default connection (libpq's trace)."""
    from django.db import connection
    from psycopg.pq import Trace

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().splitlines()
    return sum(
        1 for line in lines if line.startswith("F") and ("\tQuery\t" in line or "\tSync" in line)
    )


def _backend_cpu_seconds() -> float:
    """CPU used so far by the PostgreSQL backend of the default connection (NaN if its process
    is not on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    seconds = process_cpu_seconds(row[0])
    return math.nan if seconds is None else seconds


def measure(outcome: str, n: int, profile: bool) -> tuple[float, float, float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from scoring.decisions import decision_create
    from scoring.models import Integrator
    from scoring.transaction import DecisionRequest
    from tests import factories

    integrator = Integrator.objects.get(name="bench")
    amount = Decimal("20.00") if outcome == "review" else Decimal("5.00")
    counter = iter(range(10**9))

    def one() -> None:
        ref = f"{outcome}-{next(counter)}"
        facts = factories.facts(
            transaction_id=ref, amount=amount, customer_id=ref, occurred_at=timezone.now()
        )
        created = decision_create(integrator=integrator, request=DecisionRequest(facts))
        assert created.decision.outcome == outcome, created.decision.outcome

    for _ in range(20):  # warm-up: policy, queues' plans, prepared statements
        one()
    with CaptureQueriesContext(connection) as queries:
        one()
    trips = _round_trips(one)
    profiler = cProfile.Profile() if profile else None
    backend_before = _backend_cpu_seconds()
    started = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(n):
        one()
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())
    cpu_ms = (time.process_time() - started) * 1000 / n
    backend_ms = (_backend_cpu_seconds() - backend_before) * 1000 / n
    return float(len(queries)), float(trips), cpu_ms, backend_ms


def main(argv: Sequence[str] | None = None) -> int:
    # The Redis database is emptied; the bench uses none.
    parser = services_parser(__doc__, database="fraudops_bench_writes", redis_db=12)
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    services = services_from_args(args)
    with bench_services(services):
        os.environ.setdefault("LOG_LEVEL", "ERROR")
        django_setup_in_process(services.database_url)
        from cases.models import Queue
        from scoring.models import Integrator
        from tests import factories

        Integrator.objects.create(name="bench")
        factories.rule("review_all", "amount >= 10", "review")
        Queue.objects.create(name="Transfers", position=1, match_channel="transfer")
        Queue.objects.create(name="High value", position=2, min_amount=Decimal("1000"))
        rows = [(outcome, *measure(outcome, args.decisions, args.profile)) for outcome in
                ("approve", "review")]  # fmt: skip
        from django.db import connections

        connections.close_all()
    print(f"decision_create x{args.decisions} per outcome, PostgreSQL {args.database}")
    print(
        f"  {'outcome':<8} {'statements':>10} {'round trips':>11} {'CPU ms/decision':>16} "
        f"{'PostgreSQL CPU ms':>18}"
    )
    for outcome, statements, trips, cpu, backend in rows:
        print(f"  {outcome:<8} {statements:>10.0f} {trips:>11.0f} {cpu:>16.3f} {backend:>18.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
