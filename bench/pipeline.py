"""In-process ``decide()`` benchmark with the real model: where a decision's time goes.

Run ``python bench/pipeline.py [--store memory|redis]``. It builds a throwaway environment (a
SQLite file and a model directory in a temporary directory, removed at the end): migrates,
seeds the demo policy, loads a simulated history (``--days`` of ``--customers``, ``--seed``)
with ``history_load``, trains a model with ``model_train``, promotes it and serves it through
``scoring.serving`` as the API does.

It then decides a fresh stream: the simulator's continuation after the history (the same
customers, cards and devices), against a feature store holding the whole history, so features
have history. After a warm-up it times every ``decide()`` and reads the stages ``decide()``
records; the model's raw predict and its SHAP (``pred_contrib``) are then timed alone on the
same rows. Figures are split by outcome: approve vs review/decline. The garbage collector is
off during the timing loops (and collected before each).

LightGBM predicts with one OpenMP thread per core unless ``OMP_NUM_THREADS`` says otherwise;
``--omp-threads N`` sets it for this run, to compare.

Targets (whole ``decide()``, p99): ≤ 3 ms for a review/decline with reasons, ≤ 1.5 ms for an
approval. ``--store redis`` uses ``REDIS_URL`` (default redis://127.0.0.1:6379/0, loopback
only) under a unique key prefix, deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import redis

if TYPE_CHECKING:
    from rules.policy import Policy
    from scoring.features.definitions import Features
    from scoring.features.store import FeatureStore, RedisFeatureStore
    from scoring.lgbm import LightGBMScorer
    from scoring.models import ModelVersion
    from scoring.simulation.history import HistoricalTransaction
    from scoring.training.train import SizeTrial
    from scoring.transaction import TransactionFacts

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TARGET_FLAGGED_P99_MS = 3.0
TARGET_APPROVE_P99_MS = 1.5
APPROVE, FLAGGED = "approve", "review/decline"
# A low estimate of the simulator's transactions per customer and day (its mean is about 1.75),
# to simulate enough days for the stream.
MIN_PER_CUSTOMER_DAY = 1.4

STAGES: tuple[tuple[str, str], ...] = (
    ("features", "feature read (observe + compute)"),
    ("rules", "rules (lists + rule evaluation)"),
    ("model", "model (row, predict, calibration)"),
    ("explain", "model reasons: SHAP + words"),
    ("predict", "  predict: booster raw, alone"),
    ("shap", "  SHAP: pred_contrib, alone"),
    ("shap_1t", "  SHAP alone, num_threads=1"),
    ("rest", "rule reasons + result (the remainder)"),
    ("total", "whole decide()"),
)


@dataclass
class Sample:
    """One timed decision."""

    group: str
    outcome: str
    total_ms: float
    stages_ms: dict[str, float]
    features: Features | None  # the model's input, when the model ran
    reasons: int
    degraded: bool


@dataclass
class Prepared:
    history_rows: int
    stream: list[TransactionFacts]
    scope: str
    version: ModelVersion
    scorer: LightGBMScorer
    trials: list[SizeTrial]
    seconds: dict[str, float] = field(default_factory=dict)


# --- environment -----------------------------------------------------------------------------


@contextmanager
def sandbox() -> Iterator[Path]:
    """A temporary directory for the database and the models, removed whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix="fraudops-bench-pipeline-"))
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield tmp
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)


def django_setup(tmp: Path) -> str:
    """Point the settings at ``tmp`` (SQLite, in-process defaults); return the Redis URL."""
    redis_url = os.environ.pop("REDIS_URL", "") or DEFAULT_REDIS_URL
    os.environ.pop("DATABASE_URL", None)
    os.environ["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["MODEL_DIR"] = str(tmp / "models")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # The bench publishes the cold generation itself, once, before timing.
    os.environ["COLD_FEATURES_REFRESH_IN_PROCESS"] = "0"
    # DEBUG is off, so settings need secrets; a throwaway database needs no real ones.
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fraudops.settings"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return redis_url


def simulate(
    args: argparse.Namespace,
) -> tuple[list[HistoricalTransaction], list[HistoricalTransaction]]:
    """The history (with the labels known at its end), then the stream that follows it.

    The stream ends now, so the API would accept its timestamps; the history ends where the
    stream begins, and a label reported after that moment is not part of it.
    """
    from scoring.simulation.history import HistorySimulator

    needed = args.warmup + args.decisions
    stream_days = math.ceil(needed / (args.customers * MIN_PER_CUSTOMER_DAY)) + 1
    now = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    split = now - timedelta(days=stream_days)
    simulator = HistorySimulator(seed=args.seed, customers=args.customers)
    everything = simulator.generate(
        start=split - timedelta(days=args.days), days=args.days + stream_days
    )
    history = [
        t if t.label is None or t.label.reported_at < split else replace(t, label=None)
        for t in everything
        if t.occurred_at < split
    ]
    stream = [t for t in everything if t.occurred_at >= split][:needed]
    if len(stream) < needed:
        raise SystemExit(f"the simulated stream has {len(stream)} transactions, {needed} needed")
    return history, stream


def validated(stream: Sequence[HistoricalTransaction]) -> list[TransactionFacts]:
    """Each transaction as the API would hand it to ``decide()`` (validated, e-mail hashed)."""
    from scoring.serializers import TransactionInSerializer
    from scoring.transaction import decision_request_from

    facts = []
    for simulated in stream:
        serializer = TransactionInSerializer(data=simulated.payload)
        serializer.is_valid(raise_exception=True)
        facts.append(decision_request_from(serializer.validated_data).facts)
    return facts


def prepare(args: argparse.Namespace) -> Prepared:
    """Policy, history, model: everything ``decide()`` needs, as a live worker has it."""
    from rules.demo import demo_policy_seed
    from scoring.lifecycle import model_promote
    from scoring.models import Integrator
    from scoring.simulation.load import history_load
    from scoring.training.train import model_train

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    demo_policy_seed()
    history, stream = simulate(args)
    integrator, _ = Integrator.objects.get_or_create(name="simulator")
    history_load(integrator=integrator, history=history)
    seconds["history"], clock = time.perf_counter() - clock, time.perf_counter()
    trained = model_train(seed=args.seed)
    model_promote(version=trained.version, actor=None, reason="benchmark")
    seconds["training"] = time.perf_counter() - clock
    return Prepared(
        history_rows=len(history),
        stream=validated(stream),
        scope=str(integrator.pk),
        version=trained.version,
        scorer=active_scorer(),
        trials=trained.trials,
        seconds=seconds,
    )


def active_scorer() -> LightGBMScorer:
    """The promoted model, loaded by serving as a worker loads it."""
    from scoring import serving
    from scoring.lgbm import LightGBMScorer

    # A cache of its own: the process's still holds the "no model" it read for the history.
    scorer = serving.ActiveModel().get()
    if not isinstance(scorer, LightGBMScorer):
        raise SystemExit(f"the promoted model did not load: {scorer!r}")
    return scorer


# --- feature stores ----------------------------------------------------------------------


@contextmanager
def feature_store(kind: str, redis_url: str, now: datetime) -> Iterator[FeatureStore]:
    """The store to decide with, holding the whole history and the cold generation of ``now``
    (as the beat would have published it)."""
    from scoring import serving
    from scoring.cold_refresh import cold_features_refresh

    if kind == "memory":
        store = serving.feature_store()  # history_load recorded every transaction in it
        cold_features_refresh(store=store, now=now)
        yield store
        return
    with redis_store(redis_url) as redis_backed:
        cold_features_refresh(store=redis_backed, now=now)
        yield redis_backed


@contextmanager
def redis_store(url: str) -> Iterator[RedisFeatureStore]:
    """A Redis store under a unique prefix, warmed from the database; its keys deleted after."""
    from scoring.features.store import RedisFeatureStore
    from scoring.replay import store_warm

    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback Redis: {url}")
    prefix = f"fo:bench-pipeline:{uuid.uuid4().hex[:12]}"
    store = RedisFeatureStore.from_url(url, prefix=prefix)
    client = redis.Redis.from_url(url)
    try:
        store.ping()
        store_warm(store)
        yield store
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()


# --- measuring -------------------------------------------------------------------------------


@contextmanager
def gc_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def measure(prepared: Prepared, store: FeatureStore, warmup: int) -> list[Sample]:
    """Decide the stream in order; the first ``warmup`` decisions are not kept."""
    from rules.loader import current_policy

    policy = current_policy()
    decide_one = decider(prepared, store, policy)
    for txn in prepared.stream[:warmup]:
        decide_one(txn)
    with gc_paused():
        return [decide_one(txn) for txn in prepared.stream[warmup:]]


def decider(
    prepared: Prepared, store: FeatureStore, policy: Policy
) -> Callable[[TransactionFacts], Sample]:
    from rules.policy import Outcome
    from scoring.pipeline import decide

    def decide_one(txn: TransactionFacts) -> Sample:
        started = time.perf_counter()
        result = decide(
            txn,
            ref=txn.transaction_id,
            scope=prepared.scope,
            store=store,
            policy=policy,
            scorer=prepared.scorer,
        )
        total = (time.perf_counter() - started) * 1000
        stages = dict(result.timings_ms)
        stages["rest"] = total - sum(stages.values())
        return Sample(
            group=APPROVE if result.outcome == Outcome.APPROVE else FLAGGED,
            outcome=result.outcome,
            total_ms=total,
            stages_ms=stages,
            features=result.features if result.score is not None else None,
            reasons=len(result.reasons),
            degraded=result.degraded,
        )

    return decide_one


# The booster calls timed alone: raw predict and SHAP as the scorer makes them (LightGBM's
# default: one OpenMP thread per core), then SHAP on one thread, in a pass of its own (LightGBM
# would resize its thread team on every call if the two thread counts alternated).
BOOSTER_PASSES: tuple[dict[str, dict[str, Any]], ...] = (
    {"predict": {"raw_score": True}, "shap": {"pred_contrib": True}},
    {"shap_1t": {"pred_contrib": True, "num_threads": 1}},
)


def time_booster(scorer: LightGBMScorer, path: str, samples: list[Sample]) -> None:
    """Time each booster call alone on the rows the model scored, one row after another."""
    import lightgbm

    booster = lightgbm.Booster(model_file=path)
    scored = [(s, scorer.row(s.features)) for s in samples if s.features is not None]
    for calls in BOOSTER_PASSES:
        for _, row in scored[:200]:  # warm-up
            for options in calls.values():
                booster.predict(row, **options)
        with gc_paused():
            for sample, row in scored:
                for stage, options in calls.items():
                    started = time.perf_counter()
                    booster.predict(row, **options)
                    sample.stages_ms[stage] = (time.perf_counter() - started) * 1000


# --- report ----------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> tuple[int, float, float]:
    if not values:
        return 0, math.nan, math.nan
    p50, p99 = np.percentile(values, [50, 99])
    return len(values), float(p50), float(p99)


def stage_values(samples: Sequence[Sample], group: str, stage: str) -> list[float]:
    chosen = [s for s in samples if s.group == group]
    if stage == "total":
        return [s.total_ms for s in chosen]
    return [s.stages_ms[stage] for s in chosen if stage in s.stages_ms]


def model_size(scorer: LightGBMScorer, path: str) -> str:
    import lightgbm

    trees = lightgbm.Booster(model_file=path).dump_model()["tree_info"]
    leaves = [int(tree["num_leaves"]) for tree in trees]
    return (
        f"{len(trees)} trees x {max(leaves)} leaves (max; {sum(leaves)} leaves in all), "
        f"{len(scorer.features)} features"
    )


def print_header(args: argparse.Namespace, prepared: Prepared, loads: Sequence[float]) -> None:
    version, seconds = prepared.version, prepared.seconds
    threads = os.environ.get("OMP_NUM_THREADS", "unset: one per core")
    print(f"decide() in-process, store={args.store}, model {version.name}")
    print(f"LightGBM prediction threads: OMP_NUM_THREADS {threads}")
    print(f"model: {model_size(prepared.scorer, version.path)}")
    for trial in prepared.trials:
        print(
            f"  candidate {trial.trees} trees x {trial.leaves} leaves: "
            f"validation AP {trial.ap:.3f}, SHAP {trial.explain_ms:.2f} ms (at training)"
        )
    print(
        f"history: {args.days} days, {args.customers} customers, seed {args.seed}: "
        f"{prepared.history_rows} transactions (loaded in {seconds['history']:.0f} s, "
        f"trained in {seconds['training']:.0f} s)"
    )
    print(
        f"machine: {os.cpu_count()} cores, 1-min load average "
        f"{' -> '.join(f'{load:.1f}' for load in loads)} (before -> after timing)"
    )


def print_stream(args: argparse.Namespace, samples: list[Sample]) -> None:
    outcomes = {o: sum(s.outcome == o for s in samples) for o in ("approve", "review", "decline")}
    scored = sum(s.features is not None for s in samples)
    print(
        f"stream: {args.warmup} warm-up + {len(samples)} measured decisions "
        f"({', '.join(f'{o} {n}' for o, n in outcomes.items())}; model ran on {scored}; "
        f"degraded {sum(s.degraded for s in samples)}); GC disabled during timing loops"
    )


def print_table(samples: list[Sample]) -> None:
    groups = (APPROVE, FLAGGED)
    print(f"{'':<37}" + "".join(f" | {g:<24}" for g in groups))
    print(f"{'stage':<37}" + f" | {'n':>6} {'p50 ms':>8} {'p99 ms':>8}" * len(groups))
    for stage, label in STAGES:
        cells = ""
        for group in groups:
            n, p50, p99 = percentiles(stage_values(samples, group, stage))
            cells += f" | {n:>6} {p50:>8.3f} {p99:>8.3f}"
        print(f"{label:<37}{cells}")


def print_targets(samples: list[Sample]) -> bool:
    flagged = [s for s in samples if s.group == FLAGGED]
    with_reasons = sum(s.reasons > 0 for s in flagged)
    print(f"review/decline decisions with reasons: {with_reasons} of {len(flagged)}")
    passed = True
    for group, target in ((FLAGGED, TARGET_FLAGGED_P99_MS), (APPROVE, TARGET_APPROVE_P99_MS)):
        n, _, p99 = percentiles(stage_values(samples, group, "total"))
        ok = n > 0 and p99 <= target
        passed &= ok
        verdict = "PASS" if ok else "MISS"
        print(f"target {group:<15} whole decide() p99 {p99:.3f} ms <= {target} ms: {verdict}")
    return passed


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--store", choices=("memory", "redis"), default="memory")
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--customers", type=int, default=600, help="default 600")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=300, help="decisions not measured")
    parser.add_argument("--decisions", type=int, default=5000, help="decisions measured")
    parser.add_argument(
        "--omp-threads",
        type=int,
        default=0,
        help="set OMP_NUM_THREADS, LightGBM's thread count when predicting (default: as set)",
    )
    args = parser.parse_args(argv)
    if args.decisions < 2000:
        parser.error("measure at least 2000 decisions")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.omp_threads:
        os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)  # before LightGBM loads OpenMP
    with sandbox() as tmp:
        redis_url = django_setup(tmp)
        from django.db import connections

        try:
            prepared = prepare(args)
            loads = [os.getloadavg()[0]]
            now = prepared.stream[0].occurred_at
            with feature_store(args.store, redis_url, now) as store:
                samples = measure(prepared, store, args.warmup)
            time_booster(prepared.scorer, prepared.version.path, samples)
            loads.append(os.getloadavg()[0])
            print_header(args, prepared, loads)
            print_stream(args, samples)
            print_table(samples)
            passed = print_targets(samples)
        finally:
            connections.close_all()
    print(f"total run time {time.perf_counter() - started:.0f} s; temporary files removed")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
