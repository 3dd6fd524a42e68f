"""Training benchmark: the product's training on 1,000,000 logged decisions, its wall time and
peak memory.

Run ``python bench/training.py [--decisions N]``. It needs PostgreSQL: ``DATABASE_URL``
(default the local server, loopback only). It creates the database ``fo_bench_training`` on
that server (dropped first and again at the end), migrates, seeds the demo rules and loads a
simulated history with the product's loader (``history_load``: each transaction decided by
``decide()``, its features logged with its decision; chargebacks for frauds, analysts'
verdicts), ending 40 days ago so that every payment is past its maturity. That history is then
copied inside PostgreSQL (``INSERT … SELECT`` over ``generate_series``: new transaction ids, a
second apart per copy, the same logged features, decisions and labels) up to ``--decisions``
rows, so the features are the simulator's, decided by the product.

It then runs ``manage.py train_model`` (the product's training: reading the logged features,
labels as of now, four model sizes, calibration, evaluation, registration) in a child process
and prints its wall time and its peak memory: the child's maximum resident set size
(``ru_maxrss`` from ``os.wait4``, which counts that child alone; training forks no processes
of its own, LightGBM uses threads). Targets: at most 5 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is a package of the project
    sys.path.insert(0, str(ROOT))

from bench.measure import BenchError  # noqa: E402

BENCH_DB = "fo_bench_training"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TARGET_SECONDS = 300.0
TARGET_BYTES = 4 * 1024**3
# Every loaded payment is past the 30-day maturity, and most chargebacks have come in.
ENDS_DAYS_AGO = 40


def urls() -> tuple[str, str]:
    """(the server's own database, to create and drop the bench one; the bench database)."""
    parts = urlsplit(os.getenv("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise BenchError(f"DATABASE_URL must be PostgreSQL, not {parts.scheme!r}")
    if parts.hostname not in LOOPBACK:
        raise BenchError("DATABASE_URL must point at a loopback address")
    admin_db = parts.path.lstrip("/") or "postgres"
    if admin_db == BENCH_DB:
        admin_db = "postgres"
    admin = urlunsplit(("postgresql", parts.netloc, f"/{admin_db}", parts.query, ""))
    bench = urlunsplit(("postgres", parts.netloc, f"/{BENCH_DB}", parts.query, ""))
    return admin, bench


@contextmanager
def bench_database(admin_url: str) -> Iterator[None]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    try:
        yield
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def app_env(database_url: str, model_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="fraudops.settings",
        MODEL_DIR=model_dir,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)  # training reads the database only
    # DEBUG is off, so settings need secrets; a throwaway database needs no real ones.
    env.setdefault("SECRET_KEY", "bench-only-secret-key")
    env.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
    return env


def history_build(args: argparse.Namespace) -> int:
    """Migrate, seed the rules and load the simulated history (in this process)."""
    import django

    django.setup()
    from django.core.management import call_command

    from rules.demo import demo_policy_seed
    from scoring.models import Integrator
    from scoring.simulation.history import HistorySimulator
    from scoring.simulation.load import history_load

    call_command("migrate", interactive=False, verbosity=0)
    demo_policy_seed()
    now = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=ENDS_DAYS_AGO + args.days)
    # Simulated up to now, loaded up to 40 days ago: the chargebacks reported since are there.
    everything = HistorySimulator(seed=args.seed, customers=args.customers).generate(
        start=start, days=ENDS_DAYS_AGO + args.days
    )
    cut = now - timedelta(days=ENDS_DAYS_AGO)
    history = [t for t in everything if t.occurred_at < cut]
    loaded = history_load(integrator=Integrator.objects.create(name="simulator"), history=history)
    print(
        f"  loaded {loaded.transactions} simulated transactions and {loaded.labels} labels "
        f"with the product's loader in {loaded.seconds:.0f} s",
        flush=True,
    )
    return loaded.transactions


def _columns(model: type, *, skip: set[str]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if f.column not in skip]  # type: ignore[attr-defined]


def copies_insert(total: int) -> int:
    """Copy the loaded history inside PostgreSQL up to ``total`` transactions (and their
    decisions and labels): copy g of a transaction occurs g seconds after it."""
    from django.db import connection

    from scoring.models import Decision, LabelEvent, Transaction

    txn_columns = _columns(Transaction, skip={"id"})
    txn_select = [
        "t.transaction_id || '~' || g" if c == "transaction_id"
        else "t.occurred_at + g * interval '1 second'" if c == "occurred_at"
        else f"t.{c}"
        for c in txn_columns
    ]  # fmt: skip
    decision_columns = _columns(Decision, skip={"id", "transaction_id"})
    label_columns = _columns(LabelEvent, skip={"id", "transaction_id", "reported_at"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scoring_transaction")
        base = cursor.fetchone()[0]
        copies = -(-total // base) - 1
        # Built from the models' own column names: nothing comes from input.
        cursor.execute(
            f"INSERT INTO scoring_transaction ({', '.join(txn_columns)}) SELECT "  # noqa: S608
            f"{', '.join(txn_select)} FROM scoring_transaction t "
            f"CROSS JOIN generate_series(1, %s) g ORDER BY g, t.id LIMIT %s",
            [copies, total - base],
        )
        # Each copy is found back by its id: "<original id>~<copy number>".
        origin = (
            "FROM scoring_transaction n JOIN scoring_transaction o "
            "ON o.integrator_id = n.integrator_id "
            "AND o.transaction_id = split_part(n.transaction_id, '~', 1) "
        )
        cursor.execute(
            f"INSERT INTO scoring_decision (id, transaction_id, {', '.join(decision_columns)}) "
            f"SELECT gen_random_uuid(), n.id, {', '.join('d.' + c for c in decision_columns)} "
            f"{origin} JOIN scoring_decision d ON d.transaction_id = o.id "
            "WHERE n.transaction_id LIKE '%%~%%'"
        )
        cursor.execute(
            f"INSERT INTO scoring_labelevent (transaction_id, reported_at, "
            f"{', '.join(label_columns)}) "
            f"SELECT n.id, l.reported_at + (n.occurred_at - o.occurred_at), "
            f"{', '.join('l.' + c for c in label_columns)} "
            f"{origin} JOIN scoring_labelevent l ON l.transaction_id = o.id "
            "WHERE n.transaction_id LIKE '%%~%%'"
        )
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM scoring_decision")
        decisions: int = cursor.fetchone()[0]
    connection.close()
    return decisions


def train_measured(env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in bytes, output) of ``manage.py train_model`` in a child."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", "train_model"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        print(f"    | {line}", end="", flush=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise BenchError(f"train_model failed ({child.returncode})")
    return seconds, usage.ru_maxrss * 1024, "".join(lines)  # Linux: ru_maxrss is in KiB


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=500, help="the simulated history's")
    parser.add_argument("--days", type=int, default=20, help="days of simulated history")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    admin_url, bench_url = urls()
    started = time.perf_counter()
    with bench_database(admin_url), tempfile.TemporaryDirectory(prefix="fo-bench-") as models:
        env = app_env(bench_url, models)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
        os.environ.setdefault("SECRET_KEY", env["SECRET_KEY"])
        os.environ.setdefault("PII_HASH_KEY", env["PII_HASH_KEY"])
        os.environ.pop("REDIS_URL", None)
        print(f"building {args.decisions} logged decisions in {BENCH_DB}", flush=True)
        history_build(args)
        copied = time.perf_counter()
        decisions = copies_insert(args.decisions)
        print(
            f"  copied to {decisions} decisions in {time.perf_counter() - copied:.0f} s",
            flush=True,
        )
        print("training (manage.py train_model, in a child process)", flush=True)
        load_before = os.getloadavg()[0]
        seconds, peak, _ = train_measured(env)
        load_after = os.getloadavg()[0]
    passed = seconds <= TARGET_SECONDS and peak <= TARGET_BYTES
    print(
        f"\ntraining on {decisions} logged decisions: wall time {seconds:.1f} s "
        f"(target <= {TARGET_SECONDS:.0f} s), peak memory {peak / 1024**3:.2f} GB "
        f"(ru_maxrss of the training process; target <= {TARGET_BYTES / 1024**3:.0f} GB): "
        f"{'PASS' if passed else 'MISS'}"
    )
    print(
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before and {load_after:.1f} "
        f"after training; this process's own peak {_self_peak() / 1024**3:.2f} GB; "
        f"whole run {time.perf_counter() - started:.0f} s; {BENCH_DB} dropped"
    )
    return 0 if passed else 1


def _self_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    sys.exit(main())
