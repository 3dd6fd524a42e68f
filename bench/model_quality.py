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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import lightgbm
import numpy as np
import psycopg
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is a package of the project
    sys.path.insert(0, str(ROOT))

from bench.measure import DISTURBED_SHARE, HOST, BenchError, Connection, CpuSample  # noqa: E402
from bench.servers import DEFAULT_WORKERS, Server  # noqa: E402
from bench.services import (  # noqa: E402
    Ran,
    Services,
    app_env,
    bench_services,
    manage,
    services_from_env,
)
from scoring.simulation.history import HistoricalTransaction, HistorySimulator  # noqa: E402

# The simulator's customers pay 0.5 to 3 times a day (uniformly): 1.75 on average. With the
# fraud patterns' fixed daily rates, this sizes the population for a number of payments.
PAYMENTS_PER_CUSTOMER_DAY = 1.75
DEFAULT_SIZE = 40_000
QUICK = {"size": 2_500, "history_days": 30, "live_days": 5, "maturity_days": 14}
TOP_K = 100
RETRIES = 5  # per request, on 503 or a dropped connection (both safe: the API is idempotent)
PROGRESS_SECONDS = 10.0


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """The simulated payments in time order, where history ends, and who knows what when."""

    seed: int
    customers: int
    payments: list[HistoricalTransaction]
    split: datetime  # history before it, live from it; training happens at this moment
    end: datetime

    @property
    def history(self) -> list[HistoricalTransaction]:
        return [t for t in self.payments if t.occurred_at < self.split]

    @property
    def live(self) -> list[HistoricalTransaction]:
        return [t for t in self.payments if t.occurred_at >= self.split]

    def chargeback_at(self, t: HistoricalTransaction) -> datetime | None:
        """When the fraud's chargeback was reported, if before the split (else unknown)."""
        label = t.label
        if not t.is_fraud or label is None or label.label != "fraud":
            return None
        if label.source != "chargeback" or label.reported_at >= self.split:
            return None
        return label.reported_at


def scenario_build(args: argparse.Namespace) -> Scenario:
    days = args.history_days + args.live_days
    customers = max(20, round(args.size / (days * PAYMENTS_PER_CUSTOMER_DAY)))
    # Ends at the start of today (UTC): every timestamp is in the past, as the API requires,
    # and a seed gives the same payments whatever the day (only the dates move).
    end = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    simulator = HistorySimulator(seed=args.seed, customers=customers)
    payments = simulator.generate(start=end - timedelta(days=days), days=days)
    return Scenario(args.seed, customers, payments, end - timedelta(days=args.live_days), end)


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


# --- metrics -------------------------------------------------------------------------------


def precision_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Precision of the ``k`` highest scores; a tie across the cut counts at its fraud rate (the
    expected precision when ties are broken at random)."""
    k = min(k, len(y))
    cut = np.sort(scores)[::-1][k - 1]
    above = scores > cut
    tied = scores == cut
    room = k - int(above.sum())
    return float((y[above].sum() + room * y[tied].mean()) / k)


@dataclass(frozen=True)
class Quality:
    ap: float
    auc: float
    p_at_k: float


def quality(y: np.ndarray, scores: np.ndarray) -> Quality:
    return Quality(
        float(average_precision_score(y, scores)),
        float(roc_auc_score(y, scores)),
        precision_at_k(y, scores, TOP_K),
    )


# --- the baselines: hand-made features -----------------------------------------------------

DAY_MS = 86_400_000
WINDOWS_DAYS = (1, 7, 30)
GROUP_SPAN = 10**13  # ms, more than any time span here: (group, time) as one sortable integer


@dataclass(frozen=True)
class Raw:
    """The payments as arrays, in time order."""

    ts: np.ndarray  # int64 ms since the epoch
    amount: np.ndarray
    customer: np.ndarray  # int codes; -1 when absent
    merchant: np.ndarray
    card: np.ndarray
    device: np.ndarray
    channel: list[str]
    local_hour: np.ndarray
    chargeback_ts: np.ndarray  # ms of the chargeback's report if known by the split, else inf
    is_fraud: np.ndarray


def _codes(values: Sequence[str | None]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([-1 if v is None else index.setdefault(v, len(index)) for v in values])


def raw_arrays(scenario: Scenario) -> Raw:
    payments = scenario.payments
    local = [datetime.fromisoformat(t.payload["occurred_at"]) for t in payments]
    chargebacks = [scenario.chargeback_at(t) for t in payments]
    return Raw(
        ts=np.array([round(t.occurred_at.timestamp() * 1000) for t in payments], dtype=np.int64),
        amount=np.array([float(t.payload["amount"]) for t in payments]),
        customer=_codes([t.payload.get("customer_id") for t in payments]),
        merchant=_codes([t.payload.get("merchant_id") for t in payments]),
        card=_codes([t.payload.get("card_id") for t in payments]),
        device=_codes([t.payload.get("device_id") for t in payments]),
        channel=[str(t.payload["channel"]) for t in payments],
        local_hour=np.array([d.hour + d.minute / 60 for d in local]),
        chargeback_ts=np.array(
            [np.inf if c is None else c.timestamp() * 1000 for c in chargebacks]
        ),
        is_fraud=np.array([t.is_fraud for t in payments], dtype=np.int8),
    )


def window_before(
    group: np.ndarray, ts: np.ndarray, values: np.ndarray, window_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per payment: the count and the sum of ``values`` over its group's earlier payments in
    [ts - window, ts). Payments are in time order; a group of -1 (absent) gives NaN."""
    order = np.lexsort((np.arange(len(ts)), group))  # by group, then time order
    key = group[order] * GROUP_SPAN + ts[order]
    lo = np.searchsorted(key, key - window_ms, side="left")
    position = np.arange(len(ts))
    sums = np.concatenate([[0.0], np.cumsum(values[order])])
    count, total = np.empty(len(ts)), np.empty(len(ts))
    count[order] = position - lo
    total[order] = sums[position] - sums[lo]
    absent = group < 0
    count[absent], total[absent] = np.nan, np.nan
    return count, total


def hours_since_first_seen(group: np.ndarray, ts: np.ndarray) -> np.ndarray:
    first: dict[int, int] = {}
    out = np.full(len(ts), np.nan)
    for i, (g, t) in enumerate(zip(group.tolist(), ts.tolist(), strict=True)):
        if g >= 0:
            out[i] = (t - first.setdefault(g, t)) / 3_600_000
    return out


def merchant_fraud_rate(raw: Raw, window_ms: int) -> np.ndarray:
    """Per payment: the share of its merchant's payments in [ts - window, ts) whose chargeback
    was reported before the payment (and before the split: nobody knows the later ones)."""
    count, _ = window_before(raw.merchant, raw.ts, np.ones(len(raw.ts)), window_ms)
    frauds = np.zeros(len(raw.ts))
    for m in np.unique(raw.merchant):
        mine = np.flatnonzero(raw.merchant == m)
        known = mine[np.isfinite(raw.chargeback_ts[mine])]
        if len(known) == 0:
            continue
        t = raw.ts[mine][:, None]
        inside = (raw.ts[known][None, :] >= t - window_ms) & (raw.ts[known][None, :] < t)
        frauds[mine] = (inside & (raw.chargeback_ts[known][None, :] < t)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, frauds / count, np.nan)


def hand_made_features(raw: Raw) -> tuple[list[str], np.ndarray]:
    """The textbook features, point-in-time (each from what came before the payment)."""
    columns: dict[str, np.ndarray] = {"amount_log": np.log1p(raw.amount)}
    for days in WINDOWS_DAYS:
        count, spend = window_before(raw.customer, raw.ts, raw.amount, days * DAY_MS)
        columns[f"customer_count_{days}d"] = count
        columns[f"customer_spend_{days}d_log"] = np.log1p(spend)
        if days == 30:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, spend / count, np.nan)
            columns["amount_to_customer_mean_30d_log"] = np.log(raw.amount / mean)
    for days in WINDOWS_DAYS:
        columns[f"merchant_fraud_rate_{days}d"] = merchant_fraud_rate(raw, days * DAY_MS)
    columns["card_hours_since_first_seen_log"] = np.log1p(hours_since_first_seen(raw.card, raw.ts))
    columns["device_hours_since_first_seen_log"] = np.log1p(
        hours_since_first_seen(raw.device, raw.ts)
    )
    angle = 2 * np.pi * raw.local_hour / 24
    columns["hour_sin"], columns["hour_cos"] = np.sin(angle), np.cos(angle)
    for channel in sorted(set(raw.channel)):
        columns[f"channel_{channel}"] = np.array([float(c == channel) for c in raw.channel])
    names = list(columns)
    return names, np.column_stack([columns[n] for n in names])


def baseline_labels(raw: Raw, split_ms: int, maturity_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows to train on, their labels) as known at the split: the payments older than the
    maturity window, fraud if a chargeback was reported by the split, else legit.

    The younger payments are left out, frauds too: keeping their known frauds without their
    legit payments would make "recent" itself look like fraud (card age, filled windows).
    """
    rows = raw.ts < split_ms - maturity_days * DAY_MS
    return rows, np.isfinite(raw.chargeback_ts[rows]).astype(np.int8)


@dataclass(frozen=True)
class Baselines:
    logistic: np.ndarray  # scores of the live payments
    lightgbm: np.ndarray
    features: list[str]
    train_rows: int
    train_frauds: int


def baselines_fit(raw: Raw, split: datetime, args: argparse.Namespace) -> Baselines:
    names, x = hand_made_features(raw)
    split_ms = round(split.timestamp() * 1000)
    rows, y = baseline_labels(raw, split_ms, args.maturity_days)
    live = raw.ts >= split_ms
    logistic = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    logistic.fit(x[rows], y)
    params: dict[str, Any] = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": args.seed,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }
    booster = lightgbm.train(
        params, lightgbm.Dataset(x[rows], y, feature_name=names), num_boost_round=300
    )
    return Baselines(
        logistic=logistic.predict_proba(x[live])[:, 1],
        lightgbm=np.asarray(booster.predict(x[live])),
        features=names,
        train_rows=int(rows.sum()),
        train_frauds=int(y.sum()),
    )


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

    env = app_env(services, MODEL_DIR=str(tmp / "models"))
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
        help="the baselines count an unlabelled payment this old as legit",
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
