"""Decision API benchmark: latency and throughput against the floor, on real services.

Run ``python bench/decisions.py`` (or ``make bench``). It needs PostgreSQL and Redis:
``DATABASE_URL`` and ``REDIS_URL`` (defaults: the local servers). It creates the database
``fraudops_bench`` on that PostgreSQL server (dropped first and again at the end), uses Redis
database 3 (flushed at the start and the end), migrates, creates an integrator and ten rules,
simulates 45 days of history, trains and promotes a model and publishes the cold features
(``--no-model``: rules and lists only), then starts the server as recommended for production
(gunicorn ``fraudops.wsgi``, sync workers, two per core; ``--server`` and ``--workers`` choose
others) and, from this process,
sends requests to three endpoints, sequentially and then concurrently:

- ``/api/v1/decisions``        the real decision;
- ``/bench/floor/validate``    authentication and request validation only;
- ``/bench/floor/write``       the same plus one transaction writing the two rows a decision writes.

The floors say what a request costs before any deciding, so the decision's cost above them is
the deciding itself. Targets: a sequential decision's p50 at most 3x the two-row floor's, and at
least 300 decisions/s at concurrency 8 with p99 at most 25 ms.

It prints latency percentiles and throughput per endpoint and mode, the CPU each request cost
(server, PostgreSQL + Redis, this client, other processes: a phase where other processes took
a noticeable share is flagged as disturbed), PASS/MISS per target, and where a sequential
decision's time went (from the timings each decision records).

``--server all`` runs every candidate server setup (each on a fresh database) and compares them.
``--shadow`` measures the decision endpoint without and with a challenger in shadow instead
(``bench/shadow_latency.py``).
Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is a package of the project
    sys.path.insert(0, str(ROOT))

from bench.measure import (  # noqa: E402
    DISTURBED_SHARE,
    HOST,
    BenchError,
    Connection,
    CpuSample,
)
from bench.services import Services, app_env, bench_services, manage, services_from_env  # noqa: E402

BENCH_DB = "fraudops_bench"
# Only payments older than LABEL_MATURITY_DAYS (30) are labelled: 21 days, as before that
# default, left nothing to train on. 45, as the demo: 15 labelled days.
HISTORY_DAYS = 45

ENDPOINTS: dict[str, str] = {
    "decision": "/api/v1/decisions",
    "validate": "/bench/floor/validate",
    "write": "/bench/floor/write",
}

TARGET_RATIO = 3.0
TARGET_RPS = 300.0
TARGET_P99_MS = 25.0

# The policy the benchmark decides under: ten rules (decline, review and allow), a few list
# entries and thresholds, saved through the services so every worker loads and evaluates them.
POLICY_SETUP = """
from rules.models import Rule, ListEntity, ListType
from rules.services import list_entry_create, rule_save, thresholds_set

RULES = [
    ("card_burst_1m", "card_txn_count_1m >= 600", "decline"),
    ("ip_burst_1h", "ip_txn_count_1h > 20000", "decline"),
    ("sanctioned_country", "country in ['KP', 'IR', 'SY']", "decline"),
    ("card_amount_24h", "card_amount_sum_24h > 500000 and amount > 1000", "review"),
    ("card_many_merchants", "card_distinct_merchants_24h >= 12 and amount > 1500", "review"),
    ("card_many_countries", "card_distinct_countries_24h >= 4", "review"),
    ("new_device_big_amount", "device_new_for_customer == 1 and amount > 2000", "review"),
    ("night_atm", "channel == 'atm' and hour_of_day < 5 and amount > 500", "review"),
    ("disposable_email", "email_domain in ['mailinator.com', 'tempmail.dev']", "review"),
    ("small_pos_regular", "channel == 'pos' and amount < 5 and customer_txn_count_24h > 3",
     "allow"),
]
for name, expression, action in RULES:
    rule_save(rule=Rule(name=name, expression=expression, action=action, description=name))
list_entry_create(list_type=ListType.BLOCK, entity=ListEntity.CARD, value="card-stolen-1")
list_entry_create(list_type=ListType.BLOCK, entity=ListEntity.EMAIL, value="fraud@example.net")
list_entry_create(list_type=ListType.ALLOW, entity=ListEntity.CUSTOMER, value="cust-vip-1")
thresholds_set(review_at=0.6, decline_at=0.9)
print(Rule.objects.count())
"""


# --- servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSetup:
    name: str
    description: str
    keep_alive: bool  # whether the server keeps connections open between requests

    def command(self, *, port: int, workers: int, threads: int) -> list[str]:
        py = sys.executable
        bind = f"{HOST}:{port}"
        common = ["--workers", str(workers), "--bind", bind, "--log-level", "warning"]
        common += ["--no-control-socket"]
        if self.name == "gunicorn-sync":
            return [py, "-m", "gunicorn", "fraudops.wsgi:application", "-k", "sync", *common]
        if self.name == "gunicorn-gthread":
            return [
                py, "-m", "gunicorn", "fraudops.wsgi:application", "-k", "gthread",
                "--threads", str(threads), "--keep-alive", "5", *common,
            ]  # fmt: skip
        if self.name == "gunicorn-asgi":
            return [
                py, "-m", "gunicorn", "fraudops.asgi:application", "-k", "asgi",
                "--keep-alive", "5", *common,
            ]  # fmt: skip
        if self.name == "uvicorn":
            return [
                py, "-m", "uvicorn", "fraudops.asgi:application", "--workers", str(workers),
                "--host", HOST, "--port", str(port), "--log-level", "warning",
                "--no-access-log", "--lifespan", "off",
            ]  # fmt: skip
        raise ValueError(self.name)

    def describe(self, *, workers: int, threads: int) -> str:
        text = self.description.format(workers=workers, threads=threads)
        return text if self.keep_alive else f"{text} (no keep-alive: a connection per request)"


SERVERS: dict[str, ServerSetup] = {
    setup.name: setup
    for setup in (
        ServerSetup("gunicorn-sync", "gunicorn fraudops.wsgi, {workers} sync workers", False),
        ServerSetup(
            "gunicorn-gthread",
            "gunicorn fraudops.wsgi, {workers} gthread workers x {threads} threads",
            True,
        ),
        ServerSetup("gunicorn-asgi", "gunicorn fraudops.asgi, {workers} asgi workers", True),
        ServerSetup("uvicorn", "uvicorn fraudops.asgi, {workers} workers", True),
    )
}
# Chosen by measurement (``--server all``) on 2 cores: sync workers had the lowest tail latency
# and the highest throughput; the ASGI servers spent ~70% more CPU per request.
DEFAULT_SERVER = "gunicorn-sync"
# Two per core: a sync worker waits on PostgreSQL and Redis for part of every request.
DEFAULT_WORKERS = 2 * (os.cpu_count() or 1)


class Server:
    """A server process group started by the benchmark, stopped by it (also on Ctrl-C)."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it in order
        )
        self.log_path = log_path

    def wait_ready(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        request = f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"server exited with {self.process.returncode}: {self.tail()}")
            conn = Connection(port, timeout=2.0)
            try:
                status, _ = conn.request(request)
                if status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise BenchError(f"server not ready after {timeout:.0f}s: {self.tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


# --- environment ---------------------------------------------------------------------------


def app_prepare(env: dict[str, str], *, model: bool) -> str:
    """Migrate, load the policy, (with ``model``) simulate a history, train and promote a model
    and publish the cold features; create the integrator; its API key."""
    manage(env, "migrate", "--noinput", "-v", "0", timeout=900)
    rules = manage(env, "shell", "-c", POLICY_SETUP, timeout=900).stdout.split()
    if rules[-1:] != ["10"]:
        raise BenchError(f"expected 10 rules in the bench database, got {rules}")
    if model:
        print(
            f"   simulating {HISTORY_DAYS} days of history and training a model for the bench",
            flush=True,
        )
        days = str(HISTORY_DAYS)
        manage(env, "simulate", "--days", days, "--customers", "400", "--seed", "7", timeout=900)
        trained = manage(env, "train_model", "--promote", timeout=900).stdout
        print("   " + next(line for line in trained.splitlines() if line.startswith("Model ")))
        manage(env, "refresh_cold_features", timeout=900)
    out = manage(env, "create_integrator", "bench-psp", timeout=900).stdout.split()
    keys = [word for word in out if word.startswith("fo_")]
    if not keys:
        raise BenchError(f"no API key in create_integrator's output: {out}")
    return keys[-1]


# --- payloads ------------------------------------------------------------------------------

MERCHANTS: list[tuple[str, str]] = [
    ("merch-grocer", "5411"),
    ("merch-fuel", "5541"),
    ("merch-airline", "4511"),
    ("merch-electronics", "5732"),
    ("merch-fashion", "5651"),
    ("merch-games", "5816"),
    ("merch-hotel", "7011"),
    ("merch-pharmacy", "5912"),
    ("merch-taxi", "4121"),
    ("merch-marketplace", "5399"),
]
COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "GB", "PL", "SE"]
CHANNELS = ["ecom", "ecom", "ecom", "pos", "pos", "wallet", "atm"]
N_CUSTOMERS = 60
N_CARDS = 90  # some customers have two cards


def payload(rng: random.Random, transaction_id: str) -> dict[str, object]:
    """A realistic decision request over a small population, so features have history."""
    card = rng.randrange(N_CARDS)
    customer = card % N_CUSTOMERS
    merchant, mcc = rng.choice(MERCHANTS)
    home = COUNTRIES[customer % len(COUNTRIES)]
    device = f"dev-{customer}" if rng.random() < 0.9 else f"dev-{customer}-{rng.randrange(5)}"
    amount = min(max(rng.lognormvariate(3.4, 1.1), 0.5), 15000.0)
    return {
        "transaction_id": transaction_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "amount": f"{amount:.2f}",
        "currency": "EUR",
        "customer_id": f"cust-{customer}",
        "merchant_id": merchant,
        "merchant_category": mcc,
        "channel": rng.choice(CHANNELS),
        "card_id": f"card-tok-{card}",
        "country": home if rng.random() < 0.95 else rng.choice(COUNTRIES),
        "ip": f"198.51.100.{customer + 1}",
        "device_id": device,
        "email": f"customer{customer}@example.com",
        "metadata": {"order_ref": transaction_id[-8:], "basket_items": rng.randint(1, 6)},
    }


def requests_build(
    *, path: str, key: str, port: int, tag: str, count: int, rng: random.Random
) -> list[bytes]:
    """Serialised requests, each with a unique transaction id (built before the clock runs)."""
    out = []
    for i in range(count):
        body = json.dumps(payload(rng, f"{tag}-{i:06d}"), separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Token {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


# --- load ----------------------------------------------------------------------------------


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


@dataclass
class _Tally:
    """What one connection saw during a phase."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    connects: int = 0

    def merge_into(self, result: PhaseResult) -> None:
        result.latencies_ms += self.latencies_ms
        for code, n in self.statuses.items():
            result.statuses[code] = result.statuses.get(code, 0) + n
        result.errors += self.errors
        result.samples += self.samples[: 3 - len(result.samples)]
        result.connects += self.connects


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
            if status != 201 and len(tally.samples) < 3:
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
    cpu_before = CpuSample.take(server_pgid)
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
    result.cpu = CpuSample.take(server_pgid).since(cpu_before)
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


def load_run(
    *, port: int, key: str, run_tag: str, plan: LoadPlan, server_pgid: int, redis_url: str
) -> list[PhaseResult]:
    results = []
    rng = random.Random(20261124)
    client = redis.Redis.from_url(redis_url)
    try:
        for mode, concurrency in (("seq", 1), (f"c{plan.concurrency}", plan.concurrency)):
            for endpoint, path in ENDPOINTS.items():
                tag = f"{run_tag}-{endpoint}-{mode}"
                warm = requests_build(
                    path=path, key=key, port=port, tag=f"{tag}-w", count=plan.warmup, rng=rng
                )
                measured = requests_build(
                    path=path, key=key, port=port, tag=tag, count=plan.requests, rng=rng
                )
                warm_result = run_phase(
                    warm,
                    port=port,
                    concurrency=concurrency,
                    result=PhaseResult(endpoint, f"{mode}-warmup"),
                    deadline=plan.deadline,
                    server_pgid=server_pgid,
                )
                if warm_result.failures:
                    problems = warm_result.errors[:3] + warm_result.samples
                    raise BenchError(f"warm-up of {path} failed: {problems}")
                calls, usec = lua_stats(client)
                result = run_phase(
                    measured,
                    port=port,
                    concurrency=concurrency,
                    result=PhaseResult(endpoint, mode),
                    deadline=plan.deadline,
                    server_pgid=server_pgid,
                )
                calls_after, usec_after = lua_stats(client)
                if calls_after > calls:
                    result.lua_usec = (usec_after - usec) / (calls_after - calls)
                print(f"  {path:<24} {mode:<4} {result_line(result)}", flush=True)
                results.append(result)
    finally:
        client.close()
    return results


# --- report --------------------------------------------------------------------------------


def result_line(r: PhaseResult) -> str:
    return (
        f"n={r.n:<5} p50={r.percentile(0.5):6.2f} p95={r.percentile(0.95):6.2f} "
        f"p99={r.percentile(0.99):6.2f} max={max(r.latencies_ms, default=math.nan):7.2f} ms  "
        f"{r.rps:7.1f} req/s  non-201/errors={r.failures}"
    )


def find(results: list[PhaseResult], endpoint: str, concurrent: bool) -> PhaseResult:
    return next(r for r in results if r.endpoint == endpoint and (r.mode != "seq") == concurrent)


@dataclass(frozen=True)
class Verdict:
    ratio_validate: float
    ratio_write: float
    ratio_ok: bool
    throughput_ok: bool
    errors: int
    decision_seq_p50: float
    decision_conc_rps: float
    decision_conc_p99: float

    @property
    def passed(self) -> bool:
        return self.ratio_ok and self.throughput_ok and self.errors == 0


def latency_table(results: list[PhaseResult]) -> None:
    header = f"{'endpoint':<24} {'mode':<5} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7}"
    print(f"{header} {'max':>7} {'req/s':>8} {'non-201':>8} {'conns':>6}   (latency in ms)")
    for r in results:
        print(
            f"{ENDPOINTS[r.endpoint]:<24} {r.mode:<5} {r.n:>5} {r.percentile(0.5):>7.2f} "
            f"{r.percentile(0.95):>7.2f} {r.percentile(0.99):>7.2f} "
            f"{max(r.latencies_ms, default=math.nan):>7.2f} {r.rps:>8.1f} {r.failures:>8} "
            f"{r.connects:>6}"
        )


def cpu_table(results: list[PhaseResult]) -> None:
    cpus = os.cpu_count() or 1
    print(
        f"{'CPU ms per request':<24} {'mode':<5} {'server':>7} {'pg+redis':>8} {'client':>7}"
        f" {'other':>7} {'machine':>8} {'busy%':>6} {'steal%':>6}"
    )
    for r in results:
        capacity = r.seconds * cpus / 100
        print(
            f"{ENDPOINTS[r.endpoint]:<24} {r.mode:<5} {r.cpu_ms('server'):>7.2f} "
            f"{r.cpu_ms('services'):>8.2f} {r.cpu_ms('client'):>7.2f} {r.cpu_ms('other'):>7.2f} "
            f"{r.cpu_ms('machine'):>8.2f} {r.cpu.get('machine', 0) / capacity:>6.0f} "
            f"{r.cpu.get('steal', 0) / capacity:>6.0f}{'  *disturbed' if r.disturbed else ''}"
        )
    disturbed = [r for r in results if r.disturbed]
    if disturbed:
        print(
            f"WARNING: other processes took over {DISTURBED_SHARE:.0%} of the machine's CPU in "
            f"{len(disturbed)} phase(s) (column 'other'): those figures are disturbed; rerun "
            f"on a quiet machine."
        )


def report(results: list[PhaseResult], *, setup: str, concurrency: int) -> Verdict:
    print()
    latency_table(results)
    print()
    cpu_table(results)
    seq_decision = find(results, "decision", concurrent=False)
    ratio_validate = seq_decision.percentile(0.5) / find(results, "validate", False).percentile(0.5)
    ratio_write = seq_decision.percentile(0.5) / find(results, "write", False).percentile(0.5)
    conc = find(results, "decision", concurrent=True)
    errors = sum(r.failures for r in results)
    verdict = Verdict(
        ratio_validate=ratio_validate,
        ratio_write=ratio_write,
        ratio_ok=ratio_write <= TARGET_RATIO,
        throughput_ok=conc.rps >= TARGET_RPS and conc.percentile(0.99) <= TARGET_P99_MS,
        errors=errors,
        decision_seq_p50=seq_decision.percentile(0.5),
        decision_conc_rps=conc.rps,
        decision_conc_p99=conc.percentile(0.99),
    )
    print()
    print(f"decision p50 / validate-floor p50 (sequential): {ratio_validate:.2f}x")
    print(f"decision p50 / two-row-floor p50 (sequential):  {ratio_write:.2f}x")
    print()
    mark = {True: "PASS", False: "MISS"}
    print(
        f"[{mark[verdict.ratio_ok]}] decision p50 <= {TARGET_RATIO:g}x the two-row floor's p50 "
        f"(sequential): {ratio_write:.2f}x"
    )
    print(
        f"[{mark[verdict.throughput_ok]}] >= {TARGET_RPS:g} decisions/s at concurrency "
        f"{concurrency} with p99 <= {TARGET_P99_MS:g} ms: {conc.rps:.1f}/s, "
        f"p99 {conc.percentile(0.99):.2f} ms"
    )
    print(
        f"       (with {concurrency} requests always in flight, mean latency = {concurrency} / "
        f"throughput: p99 <= {TARGET_P99_MS:g} ms needs more than "
        f"{concurrency / TARGET_P99_MS * 1000:.0f}/s)"
    )
    all_201 = "all responses 201" if errors == 0 else f"{errors} non-201 responses or errors"
    print(f"[{mark[errors == 0]}] {all_201}")
    for r in results:
        codes = {code: n for code, n in r.statuses.items() if code != 201}
        if codes or r.errors:
            print(f"  {ENDPOINTS[r.endpoint]} {r.mode}: statuses {codes}; {r.errors[:3]}")
            for sample in r.samples:
                print(f"    {sample}")
    print(f"server: {setup}")
    return verdict


def stage_report(database_url: str, run_tag: str, results: list[PhaseResult]) -> None:
    """Where a sequential decision's time goes, from what each decision recorded."""
    query = """
        SELECT count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d.latency_ms),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.timings_ms->>'features')::float),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.timings_ms->>'rules')::float),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.timings_ms->>'model')::float),
               count(*) FILTER (WHERE d.outcome <> 'approve'),
               count(*) FILTER (WHERE jsonb_array_length(d.rule_errors) > 0)
        FROM scoring_decision d JOIN scoring_transaction t ON t.id = d.transaction_id
        WHERE t.transaction_id LIKE %s
    """
    url = urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))
    with psycopg.connect(url) as conn:
        row = conn.execute(query, (f"{run_tag}-decision-seq-0%",)).fetchone()
    if not row or not row[0]:
        return
    n, latency, features, rules, model, not_approved, with_errors = row
    seq = find(results, "decision", concurrent=False)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lua = None if seq.lua_usec is None else seq.lua_usec / 1000
    print(f"sequential decision, p50 of {n} (ms): client-measured {ms(seq.percentile(0.5))}")
    print(f"  server, authentication to just before the write: {ms(latency)}, of which")
    print(f"    features, feature store call: {ms(features)} (Redis runs the script {ms(lua)})")
    print(f"    lists + {_rule_count(url)} rules: {ms(rules)}; model: {ms(model)}")
    print(f"  the rest (write, response, HTTP): about {ms(seq.percentile(0.5) - latency)}")
    print(f"  outcomes: {n - not_approved} approved, {not_approved} review/decline, ", end="")
    print(f"{with_errors} with rule errors")


def _rule_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM rules_rule WHERE mode <> 'disabled'").fetchone()
    return int(row[0]) if row else 0


# --- main ----------------------------------------------------------------------------------


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def bench_one(name: str, services: Services, args: argparse.Namespace) -> Verdict:
    setup = SERVERS[name]
    described = setup.describe(workers=args.workers, threads=args.threads)
    print(f"== {described} (port {args.port})", flush=True)
    with bench_services(services), tempfile.TemporaryDirectory(prefix="fraudops-bench-") as tmp:
        env = app_env(services, BENCH_FLOOR_ENDPOINTS="1")
        key = app_prepare(env, model=args.model)
        log_path = Path(tempfile.gettempdir()) / f"fraudops-bench-{name}.log"
        command = setup.command(port=args.port, workers=args.workers, threads=args.threads)
        # As deployed: every worker's metrics merged through a shared directory.
        server = Server(command, {**env, "PROMETHEUS_MULTIPROC_DIR": tmp}, log_path)
        try:
            server.wait_ready(args.port, timeout=60)
            run_tag = f"b{uuid.uuid4().hex[:8]}"
            plan = LoadPlan(
                requests=args.requests,
                warmup=args.warmup,
                concurrency=args.concurrency,
                deadline=time.monotonic() + args.max_seconds,
            )
            results = load_run(
                port=args.port,
                key=key,
                run_tag=run_tag,
                plan=plan,
                server_pgid=server.process.pid,
                redis_url=services.redis_url,
            )
        finally:
            server.stop()
        verdict = report(results, setup=server_details(described), concurrency=args.concurrency)
        print()
        stage_report(services.database_url, run_tag, results)
    return verdict


def server_details(described: str) -> str:
    pool = f"psycopg pool {os.getenv('DB_POOL_MIN', '1')}..{os.getenv('DB_POOL_MAX', '8')}/worker"
    return (
        f"{described}; {pool}; DEBUG=0 LOG_LEVEL=WARNING PROMETHEUS_MULTIPROC_DIR set; "
        f"Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs; PostgreSQL and Redis on this machine; client in this process"
    )


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
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis-db", type=int, default=3)
    parser.add_argument(
        "--database", default=BENCH_DB, help="the throwaway database (dropped first and after)"
    )
    parser.add_argument("--max-seconds", type=float, default=600, help="per server setup")
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
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    if not (0 < args.requests <= 100_000 and 0 <= args.warmup <= 10_000):
        parser.error("--requests must be 1..100000 and --warmup 0..10000")
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
            print(
                f"{name:<17} sequential p50 {v.decision_seq_p50:6.2f} ms "
                f"({v.ratio_write:.2f}x two-row floor); c{args.concurrency}: "
                f"{v.decision_conc_rps:6.1f}/s, p99 {v.decision_conc_p99:6.2f} ms; "
                f"{'PASS' if v.passed else 'MISS'}"
            )
    errors = sum(v.errors for v in verdicts.values())
    if errors or (args.strict and not all(v.passed for v in verdicts.values())):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
