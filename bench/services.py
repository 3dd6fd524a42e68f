"""What the benchmarks that run the product need around it: a throwaway PostgreSQL database
and Redis database on loopback, the product's environment, and its management commands."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from bench.measure import BenchError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Services:
    admin_url: str  # the server's own database, to create and drop the bench database
    database_url: str
    redis_url: str
    database: str


def services_from_env(database: str, redis_db: int) -> Services:
    parts = urlsplit(os.getenv("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise BenchError(f"DATABASE_URL must be PostgreSQL, not {parts.scheme!r}")
    if parts.hostname not in LOOPBACK:
        raise BenchError("DATABASE_URL must point at a loopback address")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise BenchError(f"--database must be a plain lower-case name, not {database!r}")
    admin_db = parts.path.lstrip("/") or "postgres"
    if admin_db == database:
        admin_db = "postgres"
    admin_url = urlunsplit(("postgresql", parts.netloc, f"/{admin_db}", parts.query, ""))
    bench_url = urlunsplit(("postgres", parts.netloc, f"/{database}", parts.query, ""))
    redis_parts = urlsplit(os.getenv("REDIS_URL") or DEFAULT_REDIS_URL)
    if redis_parts.hostname not in LOOPBACK:
        raise BenchError("REDIS_URL must point at a loopback address")
    redis_url = urlunsplit(redis_parts._replace(path=f"/{redis_db}"))
    return Services(admin_url, bench_url, redis_url, database)


def services_parser(
    doc: str | None, *, database: str, redis_db: int, keep: bool = False
) -> argparse.ArgumentParser:
    """A bench's argument parser (described by its docstring's first paragraph) with the
    throwaway services' options: ``--database``, ``--redis-db`` and, if asked, ``--keep``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0] or None)
    parser.add_argument("--database", default=database, help="the throwaway PostgreSQL database")
    parser.add_argument("--redis-db", type=int, default=redis_db, help="emptied first and after")
    if keep:
        parser.add_argument(
            "--keep", action="store_true", help="leave the database and Redis for a look afterwards"
        )
    return parser


def services_from_args(args: argparse.Namespace) -> Services:
    """The services named by ``services_parser``'s options; a refused one ends the bench
    with its reason (exit 2)."""
    try:
        return services_from_env(args.database, args.redis_db)
    except BenchError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


@contextmanager
def bench_services(services: Services, *, keep: bool = False) -> Iterator[None]:
    """A fresh database and an empty Redis database, both removed at the end (unless ``keep``:
    left for a look afterwards, and removed by the next run)."""

    def drop() -> None:
        with psycopg.connect(services.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{services.database}" WITH (FORCE)')

    def flush() -> None:
        client = redis.Redis.from_url(services.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    drop()
    with psycopg.connect(services.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{services.database}"')
    flush()
    try:
        yield
    finally:
        if not keep:
            drop()
            flush()


def app_env(services: Services, **extra: str) -> dict[str, str]:
    """The product's environment on the bench's services, with DEBUG off as in production."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=services.database_url,
        REDIS_URL=services.redis_url,
        DJANGO_SETTINGS_MODULE="fraudops.settings",
        DEBUG="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # DEBUG is off, so settings need secrets; a throwaway database needs no real ones.
    env.setdefault("SECRET_KEY", "bench-only-secret-key")
    env.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
    return env


@dataclass(frozen=True)
class Ran:
    ok: bool
    output: str  # stdout and stderr
    stdout: str
    seconds: float


def manage(env: dict[str, str], *args: str, check: bool = True, timeout: float = 3600) -> Ran:
    """``manage.py`` with ``args``; a failure raises BenchError unless ``check`` is off."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    ran = Ran(
        result.returncode == 0,
        result.stdout + result.stderr,
        result.stdout,
        time.perf_counter() - started,
    )
    if check and not ran.ok:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{ran.output}")
    return ran


def django_setup_in_process(database_url: str, *, migrate: bool = True) -> None:
    """Django in this process on the throwaway ``database_url`` (no Redis: the embedded
    defaults), migrated unless ``migrate`` is False (a worker of a bench that migrated)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    # DEBUG is off, so settings need secrets; a throwaway database needs no real ones.
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fraudops.settings"
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)
