"""Model quality benchmark: the product, used as a new integrator would, against textbook baselines.

Run ``python bench/model_quality.py`` (or ``make bench-quality``; about 6 minutes on 2 cores);
``--quick`` is a small run (one to three minutes, by the machine's load) that checks the
script works. It needs PostgreSQL and Redis: ``DATABASE_URL`` and ``REDIS_URL`` (defaults: the
local servers, loopback only). It creates the database
``--database`` (default ``fraudops_bench_quality``; dropped first and again at the end) and
uses Redis database ``--redis-db`` (flushed at the start and the end).

The data is the project's own simulator (``scoring.simulation.history``) with a fixed seed:
``--history-days`` of payments are back-filled history, the ``--live-days`` after them are
"live". A payment's truth is the simulator's ``is_fraud``. Labels are what an integrator
really has: a chargeback for a fraud, reported after the simulator's delay; never a "legit"
label, and only the chargebacks reported before the split are known to anyone.

The product, as the README tells users to run it: a fresh database, ``migrate``, the first
cold-feature generation (``refresh_cold_features``, what beat does on start), an integrator
from ``create_integrator``, and ``gunicorn fraudops.wsgi`` on 127.0.0.1. No rules are added
(a fresh install has none), so every score is the model's. Then, through the HTTP API:

1. the history is posted to ``POST /api/v1/decisions`` in time order with its past
   timestamps, and each chargeback reported before the split to ``POST /api/v1/labels`` at its
   place in time (``reported_at`` = the simulator's report time), by ``--concurrency`` clients;
2. the next cold generation is published (``refresh_cold_features --force``: the beat's next
   run), and the product trains with its own ``train_model --promote``;
3. the live weeks are posted in time order by ``--live-concurrency`` clients (default one, so
   the latency is a request's own, not queueing), and each response's ``score`` is kept, with
   the request time measured by the client.

If training fails (it refuses too few labels, or a validation window without a legit label),
the product scores without a model: its ranking is then by outcome, and the table says so.
A response without a score is ranked by its outcome (decline 1, review 0.5, approve 0).

Beside it, on the same payments and the same split, a logistic regression and a LightGBM on
hand-made features computed here with numpy from the raw payments (the textbook approach):
the customer's count and spend over 1, 7 and 30 days and the amount against the customer's
30-day mean; the merchant's fraud rate over 1, 7 and 30 days from the chargebacks reported
before the payment (and before the split); hours since the card and the device were first
seen; the local hour of day; the channel; the amount. They train on the history with the
labels known at the split: the history's payments older than ``--maturity-days``, fraud
if a chargeback was reported by the split, else legit (the younger ones are the delay period,
left out). Both are scored on the live weeks.

It prints average precision, ROC AUC and the precision of the 100 highest scores for each
(ties broken at random in expectation), the product's decision latency (median and p99 of the
client-measured request time while scoring the live weeks), the counts of payments, frauds
and labels, the seed, and anything the product did wrong on the way (non-2xx answers, errors in
the server's log). Only loopback addresses are used. Exit status 0 when the run completed, 2
when set-up failed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is a package of the project
    sys.path.insert(0, str(ROOT))

from bench.measure import DISTURBED_SHARE, HOST, BenchError, Connection, CpuSample  # noqa: E402
from bench.quality_baselines import TOP_K, Baselines, baselines_fit, quality, raw_arrays  # noqa: E402
from bench.quality_data import Scenario, scenario_build  # noqa: E402
from bench.servers import DEFAULT_WORKERS, Server  # noqa: E402
from bench.services import (  # noqa: E402
    Ran,
    Services,
    app_env,
    bench_services,
    manage,
    services_from_env,
)
from scoring.simulation.history import HistoricalTransaction  # noqa: E402

DEFAULT_SIZE = 40_000
QUICK = {"size": 2_500, "history_days": 30, "live_days": 5, "maturity_days": 14}
RETRIES = 5  # per request, on 503 or a dropped connection (both safe: the API is idempotent)
PROGRESS_SECONDS = 10.0


# --- services and the product's commands ---------------------------------------------------


def api_key(env: dict[str, str]) -> str:
    words = manage(env, "create_integrator", "bench-quality").output.split()
    keys = [word for word in words if word.startswith("fo_")]
    if not keys:
        raise BenchError(f"no API key in create_integrator's output: {words}")
    return keys[-1]


# --- the HTTP client -----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    ms: float  # the client-measured time of the last attempt
    attempts: int


@dataclass
class Tally:
    """Every answer by phase and status, and a few bodies of the unexpected ones."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, phase: str, answer: Answer) -> None:
        with self.lock:
            self.statuses[(phase, answer.status)] += 1
            self.retries[phase] += answer.attempts - 1
            if answer.status not in (200, 201) and len(self.samples) < 8:
                self.samples.append(f"{phase}: HTTP {answer.status} {answer.body}"[:400])


class Api:
    """The product's REST API on a loopback port; one keep-alive connection per thread."""

    def __init__(self, port: int, key: str) -> None:
        self._port = port
        self._key = key
        self._local = threading.local()

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = Connection(self._port, timeout=30.0)
        return conn

    def post(self, path: str, payload: dict[str, Any]) -> Answer:
        body = json.dumps(payload, separators=(",", ":")).encode()
        raw = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self._port}\r\n"
            f"Authorization: Token {self._key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        conn = self._connection()
        for attempt in range(1, RETRIES + 1):
            started = time.perf_counter()
            try:
                status, data = conn.request(raw)
            except OSError as exc:
                conn.close()
                if attempt == RETRIES:
                    return Answer(0, {"error": repr(exc)}, math.nan, attempt)
                time.sleep(0.1 * 2**attempt)
                continue
            ms = (time.perf_counter() - started) * 1000
            if status == 503 and attempt < RETRIES:
                time.sleep(0.1 * 2**attempt)
                continue
            try:
                parsed = json.loads(data) if data else {}
            except ValueError:
                parsed = {"body": data[:200].decode(errors="replace")}
            return Answer(status, parsed if isinstance(parsed, dict) else {}, ms, attempt)
        raise AssertionError("unreachable")

    def get_json(self, path: str) -> dict[str, Any]:
        raw = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self._port}\r\n\r\n".encode()
        conn = Connection(self._port, timeout=10.0)
        try:
            _, data = conn.request(raw)
        finally:
            conn.close()
        parsed = json.loads(data)
        return parsed if isinstance(parsed, dict) else {}


def label_payload(t: HistoricalTransaction, reported_at: datetime) -> dict[str, Any]:
    return {
        "transaction_id": t.payload["transaction_id"],
        "label": "fraud",
        "source": "chargeback",
        "reported_at": reported_at.isoformat(),
    }


def in_order(jobs: Sequence[Callable[[], Answer]], *, concurrency: int, what: str) -> list[Answer]:
    """Run ``jobs`` in their order, ``concurrency`` at a time; the answers in the same order."""
    answers: list[Answer] = []
    started = last = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(job) for job in jobs]  # the pool takes them first come first
        for i, future in enumerate(futures, start=1):
            answers.append(future.result())
            now = time.monotonic()
            if now - last >= PROGRESS_SECONDS or i == len(futures):
                rate = i / max(now - started, 1e-9)
                print(f"   {what}: {i}/{len(futures)} ({now - started:.0f} s, {rate:.0f}/s)")
                last = now
    return answers


def backfill(api: Api, scenario: Scenario, tally: Tally, concurrency: int) -> tuple[int, int]:
    """The history and its chargebacks, merged in time order; (decisions, labels) posted."""
    events: list[tuple[datetime, int, HistoricalTransaction]] = []
    for t in scenario.history:
        events.append((t.occurred_at, 0, t))
        reported = scenario.chargeback_at(t)
        if reported is not None:
            events.append((reported, 1, t))
    events.sort(key=lambda e: (e[0], e[1]))
    decided: dict[str, Future[Answer]] = {}
    lock = threading.Lock()

    def decision(t: HistoricalTransaction) -> Answer:
        answer = api.post("/api/v1/decisions", t.payload)
        tally.add("history decisions", answer)
        return answer

    def label(t: HistoricalTransaction, reported: datetime) -> Answer:
        with lock:
            first = decided[t.payload["transaction_id"]]
        first.result()  # the transaction must be stored before its label (submitted long before)
        answer = api.post("/api/v1/labels", label_payload(t, reported))
        tally.add("labels", answer)
        return answer

    done = Counter[str]()
    started = last = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures: list[Future[Answer]] = []
        for at, kind, t in events:
            if kind == 0:
                future = pool.submit(decision, t)
                with lock:
                    decided[t.payload["transaction_id"]] = future
            else:
                future = pool.submit(label, t, at)
            futures.append(future)
        for i, (future, (_, kind, _)) in enumerate(zip(futures, events, strict=True), start=1):
            future.result()
            done["labels" if kind else "decisions"] += 1
            now = time.monotonic()
            if now - last >= PROGRESS_SECONDS or i == len(futures):
                print(
                    f"   back-fill: {done['decisions']} decisions, {done['labels']} labels "
                    f"({now - started:.0f} s, {i / max(now - started, 1e-9):.0f} requests/s)",
                    flush=True,
                )
                last = now
    return done["decisions"], done["labels"]


def wait_for_model(api: Api, version: str, timeout: float = 30.0) -> bool:
    """Until /healthz has shown ``version`` loaded on several answers in a row (any worker)."""
    deadline, streak = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and streak < 8:
        model = api.get_json("/healthz").get("model") or {}
        ok = model.get("version") == version and model.get("state") == "loaded"
        streak = streak + 1 if ok else 0
        time.sleep(0.25)
    return streak >= 8


# --- the product ---------------------------------------------------------------------------

OUTCOME_RANK = {"decline": 1.0, "review": 0.5, "approve": 0.0}


@dataclass
class ProductRun:
    history_decisions: int = 0
    labels_posted: int = 0
    trained: Ran | None = None
    version: str | None = None
    answers: list[Answer] = field(default_factory=list)  # the live payments', in their order
    tally: Tally = field(default_factory=Tally)
    server_log: str = ""
    live_cpu: dict[str, float] = field(default_factory=dict)  # CPU s by kind, see CpuSample
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    diagnostics: list[str] = field(default_factory=list)

    def scores(self) -> np.ndarray:
        return np.array(
            [
                a.body["score"]
                if isinstance(a.body.get("score"), float | int)
                else OUTCOME_RANK.get(str(a.body.get("outcome")), 0.0)
                for a in self.answers
            ]
        )


def product_run(
    scenario: Scenario, services: Services, args: argparse.Namespace, tmp: Path
) -> ProductRun:
    run = ProductRun()
    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        run.phases[name], clock = time.perf_counter() - clock, time.perf_counter()

    # The product counts a payment as mature (legit without a chargeback) at the baselines'
    # age: by default both 30 days; with --quick 14, else its 30 days of history hold no
    # mature payment and it never trains.
    env = app_env(
        services, MODEL_DIR=str(tmp / "models"), LABEL_MATURITY_DAYS=str(args.maturity_days)
    )
    print("== the product: migrate, first cold generation, integrator, gunicorn", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "refresh_cold_features")
    key = api_key(env)
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    command = [
        sys.executable, "-m", "gunicorn", "fraudops.wsgi", "-w", str(args.workers),
        "-b", f"{HOST}:{args.port}", "--log-level", "warning", "--no-control-socket",
    ]  # fmt: skip
    log_path = tmp / "server.log"
    # As deployed: every worker's metrics merged through a shared directory.
    server = Server(command, {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, log_path)
    try:
        server.wait_ready(args.port, timeout=60)
        api = Api(args.port, key)
        phase("set-up")
        print(f"== back-fill through the API, {args.concurrency} clients", flush=True)
        run.history_decisions, run.labels_posted = backfill(
            api, scenario, run.tally, args.concurrency
        )
        phase("back-fill")
        print("== the beat's next cold generation, then train_model --promote", flush=True)
        refreshed = manage(env, "refresh_cold_features", "--force")
        print("   " + refreshed.output.strip().splitlines()[-1])
        # As of the split, like the baselines: the labels known then, and only the payments
        # past their maturity then (training at the bench's wall clock, two weeks later, would
        # count the split's younger payments as mature, their late frauds as legit).
        run.trained = manage(
            env, "train_model", "--promote", "--seed", str(args.seed),
            "--as-of", scenario.split.isoformat(), check=False,
        )  # fmt: skip
        for line in run.trained.output.strip().splitlines():
            print(f"   | {line}")
        found = re.search(r"^Promoted (\S+):", run.trained.output, re.MULTILINE)
        if found:
            run.version = found.group(1)
            if not wait_for_model(api, run.version):
                run.diagnostics.append(f"/healthz did not show {run.version} loaded within 30 s")
        phase("training")
        print(f"== scoring the live weeks, {args.live_concurrency} client(s)", flush=True)
        cpu_before = CpuSample.take(server.process.pid)
        run.answers = in_order(
            [live_job(api, t, run.tally) for t in scenario.live],
            concurrency=args.live_concurrency,
            what="live decisions",
        )
        run.live_cpu = CpuSample.take(server.process.pid).since(cpu_before)
        phase("live scoring")
    finally:
        server.stop()
        run.server_log = log_path.read_text(errors="replace")
    run.diagnostics += stored_diagnostics(services, scenario.split)
    return run


def live_job(api: Api, t: HistoricalTransaction, tally: Tally) -> Callable[[], Answer]:
    def job() -> Answer:
        answer = api.post("/api/v1/decisions", t.payload)
        tally.add("live decisions", answer)
        return answer

    return job


def stored_diagnostics(services: Services, split: datetime) -> list[str]:
    """What the stored decisions say about the features they saw, history against live."""
    query = """
        SELECT t.occurred_at >= %s AS live, count(*),
               count(*) FILTER (WHERE d.degraded),
               count(*) FILTER (WHERE d.cold_as_of IS NULL),
               count(*) FILTER (WHERE d.features->>'customer_amount_mean_30d' IS NULL),
               count(*) FILTER (WHERE d.features->>'merchant_fraud_rate_28d' IS NULL),
               count(*) FILTER (WHERE d.score IS NOT NULL)
        FROM scoring_decision d JOIN scoring_transaction t ON t.id = d.transaction_id
        GROUP BY 1 ORDER BY 1
    """
    url = urlunsplit(urlsplit(services.database_url)._replace(scheme="postgresql"))
    lines = []
    with psycopg.connect(url) as conn:
        for live, n, degraded, no_cold, no_mean, no_rate, scored in conn.execute(query, (split,)):
            lines.append(
                f"{'live' if live else 'history'} decisions stored: {n}; degraded {degraded}; "
                f"no cold generation {no_cold}; customer_amount_mean_30d missing {no_mean}; "
                f"merchant_fraud_rate_28d missing {no_rate}; with a score {scored}"
            )
    return lines


def server_problems(log: str) -> list[str]:
    """Lines of the server's log that say something went wrong, with how often each came."""
    seen: Counter[str] = Counter()
    for line in log.splitlines():
        if re.search(r"Traceback|ERROR|CRITICAL|Exception|\[WARNING\]|WORKER TIMEOUT", line):
            seen[re.sub(r"\d+", "N", line.strip())[:200]] += 1
    return [f"{n} x {line}" for line, n in seen.most_common(10)]


# --- report --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.percentile(finite, q)) if finite else math.nan


def report(
    scenario: Scenario, run: ProductRun, baselines: Baselines, args: argparse.Namespace
) -> None:
    history, live = scenario.history, scenario.live
    y = np.array([t.is_fraud for t in live], dtype=np.int8)
    product = quality(y, run.scores())
    scored = sum(
        1 for a in run.answers if a.status in (200, 201) and a.body.get("score") is not None
    )
    by_version = Counter(str(a.body.get("model_version")) for a in run.answers)
    chargebacks = sum(1 for t in history if scenario.chargeback_at(t) is not None)
    answered = [a for a in run.answers if a.status in (200, 201)]
    latencies = [a.ms for a in answered]
    server_ms = [float(a.body.get("latency_ms") or math.nan) for a in answered]

    print()
    print(
        f"== model quality on the simulator (seed {scenario.seed}, {scenario.customers} customers)"
    )
    print(
        f"history: {len(history)} payments, {sum(t.is_fraud for t in history)} fraud, from "
        f"{scenario.payments[0].occurred_at:%Y-%m-%d} to the split at "
        f"{scenario.split:%Y-%m-%d %H:%M}Z"
    )
    print(
        f"labels: {chargebacks} chargebacks reported before the split (fraud only, none legit), "
        f"{run.labels_posted} posted"
    )
    print(f"live: {len(live)} payments over {args.live_days} days, {int(y.sum())} fraud")
    print(
        f"baselines trained on {baselines.train_rows} history payments ({baselines.train_frauds} "
        f"chargebacks; the history older than {args.maturity_days} days, unlabelled as legit), "
        f"{len(baselines.features)} feature columns"
    )
    print()
    print(f"{'':<24}{'AP':>8}{'ROC AUC':>10}{f'prec@{TOP_K}':>11}")
    rows = [
        ("product (API score)", product),
        ("logistic regression", quality(y, baselines.logistic)),
        ("LightGBM", quality(y, baselines.lightgbm)),
    ]
    for name, q in rows:
        print(f"{name:<24}{q.ap:>8.3f}{q.auc:>10.3f}{q.p_at_k:>11.3f}")
    print(f"{'(fraud rate: any ranking)':<24}{y.mean():>8.3f}{0.5:>10.3f}{y.mean():>11.3f}")
    print()
    model = run.version or "none (training failed: see below)"
    print(
        f"product: model {model}; {scored}/{len(run.answers)} live answers had a score; "
        f"model_version per answer {dict(by_version)}"
    )
    live_seconds = run.phases.get("live scoring", math.nan)
    print(
        f"product decision latency while scoring the live weeks (client-measured, "
        f"{args.live_concurrency} client(s), gunicorn -w {args.workers}): "
        f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms "
        f"({len(run.answers) / live_seconds:.0f}/s); the server's own latency_ms: "
        f"p50 {percentile(server_ms, 50):.1f}, p99 {percentile(server_ms, 99):.1f}"
    )
    other = run.live_cpu.get("other", 0.0) / max(run.live_cpu.get("machine", 0.0), 1e-9)
    if other > DISTURBED_SHARE:
        print(
            f"  WARNING: other processes took {other:.0%} of the CPU used while scoring the "
            f"live weeks: the latency is disturbed; rerun on a quiet machine"
        )
    print(
        f"back-fill: {run.history_decisions} decisions and {run.labels_posted} labels, "
        f"{args.concurrency} clients; seconds per phase: "
        + ", ".join(f"{name} {seconds:.0f}" for name, seconds in run.phases.items())
    )
    if run.trained is not None:
        state = "ok" if run.trained.ok else "FAILED"
        print(f"train_model --promote: {state} in {run.trained.seconds:.0f} s")
        if not run.trained.ok:
            print("   " + run.trained.output.strip().splitlines()[-1])
    print()
    print("what the product did on the way:")
    statuses = ", ".join(
        f"{phase} HTTP {status}: {n}" for (phase, status), n in sorted(run.tally.statuses.items())
    )
    print(f"  answers: {statuses}")
    retried = {phase: n for phase, n in run.tally.retries.items() if n}
    print(f"  retried (503 or dropped connection): {retried or 'none'}")
    for sample in run.tally.samples:
        print(f"  {sample}")
    for line in run.diagnostics:
        print(f"  {line}")
    problems = server_problems(run.server_log)
    print(f"  server log: {'nothing wrong' if not problems else f'{len(problems)} kinds of line'}")
    for line in problems:
        print(f"    {line}")
    command = " ".join(["python", "bench/model_quality.py", *sys.argv[1:]])
    print(f"command: {command}")


# --- main ----------------------------------------------------------------------------------


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="payments in all")
    parser.add_argument("--quick", action="store_true", help="a small run, to check the script")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history-days", type=int, default=60)
    parser.add_argument("--live-days", type=int, default=14)
    parser.add_argument(
        "--maturity-days",
        type=int,
        default=30,
        help="the baselines and the product count an unlabelled payment this old as legit",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="clients during back-fill")
    parser.add_argument("--live-concurrency", type=int, default=1, help="clients, live weeks")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn sync workers"
    )
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database", default="fraudops_bench_quality")
    parser.add_argument("--redis-db", type=int, default=4)
    parser.add_argument(
        "--keep", action="store_true", help="leave the database and Redis for a look afterwards"
    )
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            if parser.get_default(name) == getattr(args, name):
                setattr(args, name, value)
    if args.size < 1000 or args.history_days <= args.maturity_days or args.live_days < 1:
        parser.error("need --size >= 1000, --history-days > --maturity-days, --live-days >= 1")
    if not (1 <= args.concurrency <= 32 and 1 <= args.live_concurrency <= 32):
        parser.error("--concurrency and --live-concurrency must be 1..32")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    # Also when started in the background, where SIGINT would otherwise be ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    try:
        services = services_from_env(args.database, args.redis_db)
        scenario = scenario_build(args)
        print(
            f"simulated {len(scenario.payments)} payments of {scenario.customers} customers "
            f"(seed {args.seed}): {len(scenario.history)} history, {len(scenario.live)} live",
            flush=True,
        )
        print("== baselines: hand-made features, logistic regression and LightGBM", flush=True)
        baselines = baselines_fit(raw_arrays(scenario), scenario.split, args)
        with (
            bench_services(services, keep=args.keep),
            tempfile.TemporaryDirectory(prefix="fo-quality-") as tmp,
        ):
            run = product_run(scenario, services, args, Path(tmp))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: server stopped, bench database dropped", file=sys.stderr)
        return 130
    report(scenario, run, baselines, args)
    print(f"finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
