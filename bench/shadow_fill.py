"""What the shadow filler costs per decision it fills, measured so that load does not skew it:
the filler's process CPU and its PostgreSQL backend's CPU (from /proc), and its query count,
per fill and per decision, at a steady arrival rate (issue 12: the filler competes with the
decision API for the same cores).

Run ``python bench/shadow_fill.py --database NAME --prepare`` once (a fresh database: the
decision bench's history, policy and champion, and a challenger), then without ``--prepare``
as often as wanted (the database is kept). Each run puts the challenger in shadow and, every
``--every`` seconds, makes ``--arrivals`` stored decisions of the history look live (their
``created_at`` now, decided by the champion; ``--canary`` of them by the challenger, ``--settled``
by lists and rules alone), then runs the filler's task once, as beat would, timing it. The
filler's start-up (Django, the model files) is measured apart and left out of the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import process_cpu_seconds  # noqa: E402
from bench.services import app_env, services_from_args, services_from_env, services_parser  # noqa: E402


def _cpu(pid: int) -> float:
    seconds = process_cpu_seconds(pid)
    return math.nan if seconds is None else seconds


def prepare(database: str, redis_db: int) -> None:
    import psycopg

    from bench.prepare import app_prepare
    from bench.shadow_latency import challenger_train

    services = services_from_env(database, redis_db)
    with psycopg.connect(services.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    env = app_env(services)
    app_prepare(env, model=True)
    challenger_train(env)


def measure(args: argparse.Namespace) -> None:
    services = services_from_args(args)
    # One connection, so that its backend is the one whose CPU is read.
    os.environ.update(app_env(services, DB_POOL_MIN="1", DB_POOL_MAX="1"))
    started_cpu = time.process_time()
    import django

    django.setup()
    from scoring.tasks import shadow_scores_fill_task

    champion, challenger, ids = _clean_start()
    # Warm the filler up (Django, both model files) on a first small batch, measured apart.
    arrive(ids[:20], champion, challenger, args)
    shadow_scores_fill_task()
    startup_cpu = time.process_time() - started_cpu
    backend = _backend_pid()
    print(
        f"start-up (Django, both models, a first fill of 20): {startup_cpu:.2f} CPU s; "
        f"{args.fills} fills of {args.arrivals} arrivals every {args.every} s, "
        f"{args.canary:.0%} canary, {args.settled:.0%} settled by the rules",
        flush=True,
    )
    totals = Fill()
    offset = 20
    profiler = cProfile.Profile() if args.profile else None
    for n in range(args.fills):
        arrive(ids[offset : offset + args.arrivals], champion, challenger, args)
        offset += args.arrivals
        fill = _fill_measured(backend, profiler)
        totals.add(fill)
        if n % 5 == 0 or n == args.fills - 1:
            fill.print(n + 1, verbose=args.verbose)
        time.sleep(max(0.0, args.every - fill.wall))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    _summary(totals, args.arrivals * args.fills, ids[:offset], challenger, args.fills)


@dataclass
class Fill:
    """One fill's (or the run's) scores stored, CPU (filler, postgres), queries and wall time."""

    filled: int = 0
    cpu: float = 0.0
    db: float = 0.0
    wall: float = 0.0
    queries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Fill) -> None:
        self.filled += other.filled
        self.cpu += other.cpu
        self.db += other.db
        self.wall += other.wall
        self.queries += other.queries

    def print(self, n: int, *, verbose: bool) -> None:
        print(
            f"  fill {n:>3}: {self.filled:>4} scores, {self.cpu * 1000:7.1f} CPU ms filler, "
            f"{self.db * 1000:6.1f} CPU ms postgres, {len(self.queries)} queries, "
            f"{self.wall * 1000:7.1f} ms wall (under load)",
            flush=True,
        )
        if verbose:
            for query in self.queries:
                print(f"      {float(query['time']) * 1000:7.1f} ms  {query['sql'][:150]}")


def _clean_start() -> tuple[str, str, list[uuid.UUID]]:
    """All history, nothing scored, the challenger in shadow from now: the champion's and the
    challenger's names, and the decisions' ids in a random order."""
    from django.core.cache import cache
    from django.db import connection
    from django.utils import timezone

    from scoring.models import Decision, ModelStatus, ModelVersion

    versions = list(ModelVersion.objects.order_by("pk"))
    champion = next(v for v in versions if v.status == ModelStatus.CHAMPION)
    challenger = next(v for v in versions if v.status != ModelStatus.CHAMPION)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_shadowscore")
        cursor.execute(
            "UPDATE scoring_decision SET created_at = now() - interval '1 day', "
            "model_version = NULL"
        )
        # As if the history had been inserted, not updated: no dead rows, fresh statistics.
        cursor.execute("VACUUM ANALYZE scoring_decision")
    ModelVersion.objects.filter(pk=challenger.pk).update(status=ModelStatus.SHADOW)
    cache.clear()
    ModelVersion.objects.filter(pk=challenger.pk).update(status_changed_at=timezone.now())
    ids = list(Decision.objects.order_by("?").values_list("pk", flat=True))
    return champion.name, challenger.name, ids


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _fill_measured(backend: int, profiler: cProfile.Profile | None) -> Fill:
    """The filler's task once, as beat runs it, with what it cost."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scoring.tasks import shadow_scores_fill_task

    connection.close()  # back to the pool: the task takes its own, as a worker would
    cpu0, wall0, db0 = time.process_time(), time.perf_counter(), _cpu(backend)
    with CaptureQueriesContext(connection) as queries:
        if profiler is not None:
            profiler.enable()
        filled = shadow_scores_fill_task()
        if profiler is not None:
            profiler.disable()
    fill = Fill(
        filled, time.process_time() - cpu0, _cpu(backend) - db0,
        time.perf_counter() - wall0, list(queries.captured_queries),
    )  # fmt: skip
    if _backend_pid() != backend:
        raise SystemExit("the filler changed backends: its database CPU is not read")
    return fill


def _summary(
    totals: Fill, decisions: int, ids: Sequence[uuid.UUID], challenger: str, fills: int
) -> None:
    from scoring.models import Decision, ShadowScore

    missing = (
        Decision.objects.filter(pk__in=ids)
        .exclude(model_version=challenger)
        .exclude(shadow_scores__model_version__name=challenger)
        .count()
    )
    print(
        f"per decision: {totals.cpu * 1000 / decisions:.3f} CPU ms filler + "
        f"{totals.db * 1000 / decisions:.3f} CPU ms postgres "
        f"({totals.filled} scores stored for {decisions} decisions); "
        f"{len(totals.queries) / fills:.1f} queries per fill; "
        f"{missing} decisions without the challenger's score; "
        f"{ShadowScore.objects.count()} shadow scores in all"
    )


def arrive(ids: Sequence[object], champion: str, challenger: str, args: argparse.Namespace) -> None:
    """``ids`` made live now: decided by the champion, some as canaries, some settled."""
    from django.db import connection

    n_canary = int(len(ids) * args.canary)
    n_settled = int(len(ids) * args.settled)
    canary, settled = ids[:n_canary], ids[n_canary : n_canary + n_settled]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_decision SET created_at = clock_timestamp(), model_version = "
            "CASE WHEN id = ANY(%s) THEN %s WHEN id = ANY(%s) THEN NULL ELSE %s END "
            "WHERE id = ANY(%s)",
            [list(canary), challenger, list(settled), champion, list(ids)],
        )


def main() -> None:
    parser = services_parser(__doc__, database="fraudops_bench_shadowfill", redis_db=7)
    parser.add_argument("--profile", action="store_true", help="the fills' top functions")
    parser.add_argument("--verbose", action="store_true", help="each query's time, now and then")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--arrivals", type=int, default=300)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--fills", type=int, default=30)
    parser.add_argument("--canary", type=float, default=0.05)
    parser.add_argument("--settled", type=float, default=0.05)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.database, args.redis_db)
    measure(args)


if __name__ == "__main__":
    main()
