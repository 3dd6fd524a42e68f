"""Send simulated live traffic to the decision API and report what it decided."""

from __future__ import annotations

import http.client
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.models import Integrator
from scoring.services import api_key_issue
from scoring.simulation import TrafficSimulator


class Command(BaseCommand):
    help = "Send simulated live transactions (with fraud patterns) to the decision API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--live", action="store_true", help="Send to a running server.")
        parser.add_argument("--url", default=os.getenv("FRAUDOPS_URL", "http://127.0.0.1:8000"))
        parser.add_argument("--key", default=os.getenv("FRAUDOPS_API_KEY", ""))
        parser.add_argument("--rate", type=float, default=10.0, help="Transactions per second.")
        parser.add_argument("--count", type=int, default=0, help="Stop after N (0: no limit).")
        parser.add_argument("--duration", type=float, default=0, help="Stop after S seconds.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--customers", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["live"]:
            raise CommandError("Only --live is implemented: it sends to a running server.")
        key = options["key"] or self._simulator_key()
        sender = _Sender(options["url"], key)
        simulator = TrafficSimulator(seed=options["seed"], customers=options["customers"])
        self._run(sender, simulator, options)

    def _simulator_key(self) -> str:
        integrator, _ = Integrator.objects.get_or_create(name="simulator")
        return api_key_issue(integrator=integrator).key

    def _run(self, sender: _Sender, simulator: TrafficSimulator, options: dict[str, Any]) -> None:
        rate, limit, duration = options["rate"], options["count"], options["duration"]
        tally: Counter[tuple[str, str]] = Counter()
        started = last_report = time.monotonic()
        stream = simulator.stream(datetime.now(tz=UTC), rate=rate)
        for sent, txn in enumerate(stream, start=1):
            txn.payload["occurred_at"] = datetime.now(tz=UTC).isoformat()
            status, body = sender.post(txn.payload)
            outcome = body.get("outcome", f"HTTP {status}") if isinstance(body, dict) else "?"
            tally[(txn.pattern, outcome)] += 1
            now = time.monotonic()
            if now - last_report >= 5:
                self.stdout.write(_summary(tally, sent, now - started))
                last_report = now
            if (limit and sent >= limit) or (duration and now - started >= duration):
                break
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        self.stdout.write(_summary(tally, sum(tally.values()), time.monotonic() - started))


def _summary(tally: Counter[tuple[str, str]], sent: int, elapsed: float) -> str:
    patterns = sorted({pattern for pattern, _ in tally})
    parts = []
    for pattern in patterns:
        outcomes = {o: n for (p, o), n in tally.items() if p == pattern}
        parts.append(f"{pattern}: " + ", ".join(f"{o} {n}" for o, n in sorted(outcomes.items())))
    return f"[{elapsed:6.0f}s] {sent} sent | " + " | ".join(parts)


class _Sender:
    """A keep-alive HTTP client for the decision endpoint."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        if parts.hostname is None:
            raise CommandError(f"Bad --url {url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
        self._conn = http.client.HTTPConnection(self._host, self._port, timeout=10)

    def post(self, payload: dict[str, Any]) -> tuple[int, Any]:
        body = json.dumps(payload)
        for attempt in range(2):
            try:
                self._conn.request("POST", "/api/v1/decisions", body, self._headers)
                response = self._conn.getresponse()
                data = response.read()
                return response.status, json.loads(data) if data else None
            except (ConnectionError, http.client.HTTPException, OSError):
                # Idempotency makes a retry of the same transaction safe.
                self._conn.close()
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=10)
                if attempt:
                    raise
        raise AssertionError("unreachable")
