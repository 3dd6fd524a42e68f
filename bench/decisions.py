"""Decision API benchmark: latency and throughput against the floor, on real services.

Run ``python bench/decisions.py`` (or ``make bench``). It needs PostgreSQL and Redis:
``DATABASE_URL`` and ``REDIS_URL`` (defaults: the local servers). It creates the database
``fraudops_bench`` on that PostgreSQL server (dropped first and again at the end), uses Redis
database 3 (flushed at the start and the end), migrates, creates an integrator and ten rules,
simulates 45 days of history, trains and promotes a model and publishes the cold features
(``--no-model``: rules and lists only), then starts the server as recommended for production
(gunicorn ``fraudops.wsgi``, sync workers, two per core; ``--server`` and ``--workers`` choose
others), creates the lean floor's two tables, and, from this process, sends requests to five
phases, sequentially and then concurrently (``--concurrency``, 8):

- ``lean``       ``/bench/floor/lean``      the least a Django decision endpoint can cost: no
  authentication, eight fields validated by a DRF serializer, two rows inserted with plain SQL
  in one transaction (``bench/floor.py``); every figure is printed as a ratio to it;
- ``validate``   ``/bench/floor/validate``  our authentication and request validation only;
- ``write``      ``/bench/floor/write``     the same plus the two rows a decision writes (ORM);
- ``realistic``  ``/api/v1/decisions``      known customers of the simulated history, ~1-3%
  challenged (reviewed or declined);
- ``stress``     ``/api/v1/decisions``      new customers, cards and devices, ~40% challenged,
  each challenged decision explained (SHAP) in the request (``bench/mixes.py``).

It prints latency percentiles and throughput per phase and mode with their ratios to the lean
floor's, the challenged share each mix actually saw, the CPU each request cost (server,
PostgreSQL + Redis, this client, other processes: a phase where other processes took a
noticeable share is flagged as disturbed), PASS/MISS against issue 14's targets (realistic:
sequential p50 at most 2x the lean floor's; at concurrency at least 50% of its rate with p99 at
most 30 ms; stress: at least 35% of its rate at concurrency), then sends ``--rss-decisions``
(10,000) more decisions, the mixes alternating, and reports each worker's RSS (PASS at most
250 MB), and where a sequential decision of each mix spent its time (from the timings each
decision records).

``--server all`` runs every candidate server setup (each on a fresh database) and compares them.
``--shadow`` measures the decision endpoint without and with a challenger in shadow instead
(``bench/shadow_latency.py``).
Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is a package of the project
    sys.path.insert(0, str(ROOT))

from bench.load import MIXES, LoadPlan, PhaseResult, Target, decisions_run, load_run  # noqa: E402
from bench.measure import BenchError  # noqa: E402
from bench.prepare import app_prepare, lean_tables_create  # noqa: E402
from bench.report import Verdict, memory_report, report, stage_report  # noqa: E402
from bench.servers import (  # noqa: E402
    DEFAULT_SERVER,
    DEFAULT_WORKERS,
    SERVERS,
    Server,
    server_details,
    worker_memory,
)
from bench.services import Services, app_env, bench_services, services_from_env  # noqa: E402
from bench.worker_loop import WorkerLoop, explanations_report  # noqa: E402

BENCH_DB = "fraudops_bench"


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def bench_one(name: str, services: Services, args: argparse.Namespace) -> Verdict:
    setup = SERVERS[name]
    described = setup.describe(workers=args.workers, threads=args.threads)
    print(f"== {described} (port {args.port})", flush=True)
    with bench_services(services), tempfile.TemporaryDirectory(prefix="fraudops-bench-") as tmp:
        env = app_env(services, BENCH_FLOOR_ENDPOINTS="1")
        key = app_prepare(env, model=args.model)
        lean_tables_create(services.database_url)
        log_path = Path(tempfile.gettempdir()) / f"fraudops-bench-{name}.log"
        command = setup.command(port=args.port, workers=args.workers, threads=args.threads)
        # As deployed: every worker's metrics merged through a shared directory.
        server = Server(command, {**env, "PROMETHEUS_MULTIPROC_DIR": tmp}, log_path)
        run_tag = f"b{uuid.uuid4().hex[:8]}"
        # As the README deploys it: a Celery worker at the lowest priority explains approvals.
        worker = WorkerLoop(env, Path(tmp) / "worker.log", tasks=["explain"])
        try:
            server.wait_ready(args.port, timeout=60)
            target = Target(args.port, key, server.process.pid, worker.process.pid)
            results, verdict = _measure(target, server, run_tag, services, args, described)
            explanations_report(services.database_url, worker)
        finally:
            server.stop()
            worker.stop()
        print()
        for mix in MIXES:
            stage_report(services.database_url, run_tag, results, mix)
    return verdict


def _measure(
    target: Target,
    server: Server,
    run_tag: str,
    services: Services,
    args: argparse.Namespace,
    described: str,
) -> tuple[list[PhaseResult], Verdict]:
    """The phases, their report, then (``--rss-decisions``) the workers' memory after more
    decisions; the verdict on every target."""
    plan = LoadPlan(
        requests=args.requests,
        warmup=args.warmup,
        concurrency=args.concurrency,
        deadline=time.monotonic() + args.max_seconds,
    )
    results = load_run(target=target, run_tag=run_tag, plan=plan, redis_url=services.redis_url)
    verdict = report(results, setup=server_details(described), concurrency=args.concurrency)
    if not args.rss_decisions:
        return results, verdict
    print()
    mixed = decisions_run(
        target=target,
        run_tag=run_tag,
        count=args.rss_decisions,
        concurrency=args.concurrency,
        deadline=time.monotonic() + args.max_seconds,
    )
    before = sum(r.n for r in results if r.endpoint in MIXES)
    ok = memory_report(worker_memory(server), mixed, before)
    return results, replace(verdict, checks={**verdict.checks, "worker RSS": ok})


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--server", choices=[*SERVERS, "all"], default=DEFAULT_SERVER)
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="default: two per core"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--requests", type=int, default=2000, help="measured, per endpoint/mode")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rss-decisions",
        type=int,
        default=10_000,
        help="after the phases, send this many more decisions (the two mixes alternating) and "
        "report each worker's memory (0: skip)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis-db", type=int, default=3)
    parser.add_argument(
        "--database", default=BENCH_DB, help="the throwaway database (dropped first and after)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=1200,
        help="per server setup: for the phases, and again for the --rss-decisions",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--no-model",
        dest="model",
        action="store_false",
        help="decide with rules and lists only (default: train and promote a model first)",
    )
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="measure the decision API without and with a challenger in shadow, alternating "
        "(bench/shadow_latency.py)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --shadow: on/off rounds")
    parser.add_argument(
        "--filler-nice",
        type=int,
        default=19,
        help="with --shadow: the fill loop's nice value (19: the low-priority worker the README "
        "tells users to run beside the API; 0 to measure a worker at normal priority)",
    )
    args = parser.parse_args(argv)
    if args.shadow and (args.server == "all" or not args.model):
        parser.error("--shadow takes one --server and needs a model")
    if not (2 <= args.rounds <= 20 and args.rounds % 2 == 0):
        # Halves alternate A B B A: only a whole number of pairs of rounds cancels a drift
        # of the machine (an odd count leaves one order in the majority of rounds' ratios).
        parser.error("--rounds must be even, 2..20")
    if not (0 < args.requests <= 100_000 and 0 <= args.warmup <= 10_000):
        parser.error("--requests must be 1..100000 and --warmup 0..10000")
    if not 0 <= args.rss_decisions <= 1_000_000:
        parser.error("--rss-decisions must be 0..1000000")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be 1..64")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    # Also when started in the background, where SIGINT would otherwise be ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    names = list(SERVERS) if args.server == "all" else [args.server]
    verdicts: dict[str, Verdict] = {}
    try:
        services = services_from_env(args.database, args.redis_db)
        if args.shadow:
            # Imported here: it builds on this module's server and load machinery.
            from bench.shadow_latency import shadow_bench

            return shadow_bench(services, args)
        for name in names:
            verdicts[name] = bench_one(name, services, args)
            print(flush=True)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: server stopped, bench database dropped", file=sys.stderr)
        return 130
    if len(verdicts) > 1:
        print("== summary (decision endpoint)")
        for name, v in verdicts.items():
            print(f"{name:<17} {v.summary}; {'PASS' if v.passed else 'MISS'}")
    errors = sum(v.errors for v in verdicts.values())
    if errors or (args.strict and not all(v.passed for v in verdicts.values())):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
