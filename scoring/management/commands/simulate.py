"""Send simulated live traffic to the decision API and report what it decided."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rules.demo import demo_policy_seed
from rules.models import Rule
from scoring import serving
from scoring.integrators import api_key_issue
from scoring.models import Integrator
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load
from scoring.simulation.traffic import DEFAULT_FRAUD_BOOST, TrafficSimulator

PROGRESS_EVERY_SECONDS = 5


class Command(BaseCommand):
    help = (
        "Simulate payments with fraud patterns: --days N writes a history (transactions, "
        "decisions, delayed labels) to the database; --live sends to a running server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--live", action="store_true", help="Send to a running server.")
        parser.add_argument("--days", type=int, default=0, help="Write N days of history.")
        parser.add_argument("--url", default=os.getenv("FRAUDOPS_URL", "http://127.0.0.1:8000"))
        parser.add_argument("--key", default=os.getenv("FRAUDOPS_API_KEY", ""))
        parser.add_argument("--rate", type=float, default=10.0, help="Transactions per second.")
        parser.add_argument("--count", type=int, default=0, help="Stop after N (0: no limit).")
        parser.add_argument("--duration", type=float, default=0, help="Stop after S seconds.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--customers",
            type=int,
            default=1000,
            help="The population's size; live traffic must use the history's seed and size.",
        )
        parser.add_argument(
            "--fraud-boost",
            type=float,
            default=DEFAULT_FRAUD_BOOST,
            help="Live fraud patterns, times their share in the history.",
        )
        parser.add_argument(
            "--drift",
            type=_drift_date,
            default=None,
            metavar="DATE",
            help="From DATE (YYYY-MM-DD, UTC) a new fraud pattern starts (gift-card bursts on "
            "a wallet token never seen), in the history and in live traffic.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] > 0:
            self._history(options)
        if options["live"]:
            key = options["key"] or self._simulator_key()
            sender = _Sender(options["url"], key)
            simulator = TrafficSimulator(
                seed=options["seed"],
                customers=options["customers"],
                fraud_boost=options["fraud_boost"],
                drift_at=options["drift"],
            )
            self._run(sender, simulator, options)
        elif options["days"] <= 0:
            raise CommandError("Say --days N (history), --live (traffic), or both.")

    def _history(self, options: dict[str, Any]) -> None:
        days, customers = options["days"], options["customers"]
        end = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
        simulator = HistorySimulator(
            seed=options["seed"], customers=customers, drift_at=options["drift"]
        )
        self.stdout.write(
            f"Simulating {days} days of {customers} customers (seed {options['seed']})"
        )
        if not Rule.objects.exists():
            # History is decided like live traffic; with no rules at all, "rules only" in
            # train_model would compare the model against nothing.
            demo_policy_seed()
            self.stdout.write("  no rules yet: created the demo rules (see the admin)")
        history = simulator.generate(start=end - timedelta(days=days), days=days)
        frauds = sum(t.is_fraud for t in history)
        self.stdout.write(
            f"  {len(history)} transactions, {frauds} fraudulent; deciding and writing them"
        )
        integrator, _ = Integrator.objects.get_or_create(name="simulator")
        started = last = time.monotonic()

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_SECONDS or done == total:
                self.stdout.write(f"  {done}/{total} written ({now - started:.0f} s)")
                last = now

        # The history is decided through this process's store, as a server decides: with
        # what the database already holds in it.
        serving.warm_up()
        loaded = history_load(integrator=integrator, history=history, progress=progress)
        self.stdout.write(
            f"  wrote {loaded.transactions} transactions and {loaded.labels} labels "
            f"in {loaded.seconds:.0f} s"
        )

    def _simulator_key(self) -> str:
        integrator, _ = Integrator.objects.get_or_create(name="simulator")
        return api_key_issue(integrator=integrator).key

    def _run(self, sender: _Sender, simulator: TrafficSimulator, options: dict[str, Any]) -> None:
        rate, limit, duration = options["rate"], options["count"], options["duration"]
        tally: Counter[tuple[str, str]] = Counter()
        started = last_report = time.monotonic()
        stream = simulator.stream(datetime.now(tz=UTC), rate=rate)
        self.stdout.write(
            f"Live traffic: run {simulator.run}, {len(simulator.population.customers)} "
            f"customers of seed {options['seed']}, {rate:g} per second"
        )
        for sent, txn in enumerate(stream, start=1):
            # Sent now: the stream's own clock only orders a burst.
            txn.stamp(datetime.now(tz=UTC))
            tally[(txn.pattern, self._sent(sender, txn.payload))] += 1
            now = time.monotonic()
            if now - last_report >= 5:
                self.stdout.write(_summary(tally, sent, now - started))
                last_report = now
            if (limit and sent >= limit) or (duration and now - started >= duration):
                break
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        self.stdout.write(_summary(tally, sum(tally.values()), time.monotonic() - started))

    def _sent(self, sender: _Sender, payload: dict[str, Any]) -> str:
        """Send one payload: the outcome it got, ``HTTP <status>`` without one, or
        :data:`TIMED_OUT` (said on its own line: a busy server, and the traffic goes on)."""
        try:
            status, body = sender.post(payload)
        except SendTimedOut:
            sent_id = payload.get("transaction_id")
            self.stdout.write(f"  {sent_id}: {TIMED_OUT} after {sender.timeout:g} s")
            return TIMED_OUT
        return str(body.get("outcome", f"HTTP {status}")) if isinstance(body, dict) else "?"


def _drift_date(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--drift wants a date YYYY-MM-DD, not {value!r}") from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _summary(tally: Counter[tuple[str, str]], sent: int, elapsed: float) -> str:
    patterns = sorted({pattern for pattern, _ in tally})
    parts = []
    for pattern in patterns:
        outcomes = {o: n for (p, o), n in tally.items() if p == pattern}
        parts.append(f"{pattern}: " + ", ".join(f"{o} {n}" for o, n in sorted(outcomes.items())))
    return f"[{elapsed:6.0f}s] {sent} sent | " + " | ".join(parts)


class SendTimedOut(Exception):
    """The server did not answer a decision within the sender's timeout."""


TIMED_OUT = "timed out"  # the outcome a timed-out send is counted under


class _Sender:
    """A keep-alive HTTP client for the decision endpoint."""

    def __init__(self, url: str, key: str, *, timeout: float = 10) -> None:
        parts = urlsplit(url)
        if parts.hostname is None:
            raise CommandError(f"Bad --url {url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
        self.timeout = timeout
        self._conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def post(self, payload: dict[str, Any]) -> tuple[int, Any]:
        """POST one decision: its status and JSON body. Raises :class:`SendTimedOut` when the
        server does not answer in time (not retried: it is busy), and the connection error
        when a retry on a fresh connection fails too."""
        body = json.dumps(payload)
        for attempt in range(2):
            try:
                self._conn.request("POST", "/api/v1/decisions", body, self._headers)
                response = self._conn.getresponse()
                data = response.read()
                return response.status, json.loads(data) if data else None
            except TimeoutError as exc:
                self._conn.close()
                self._conn = self._connect()
                raise SendTimedOut from exc
            except (ConnectionError, http.client.HTTPException, OSError):
                # Idempotency makes a retry of the same transaction safe.
                self._conn.close()
                self._conn = self._connect()
                if attempt:
                    raise
        raise AssertionError("unreachable")
