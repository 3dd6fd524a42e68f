"""Management commands: create_integrator, simulate and the two-command demo."""

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from scoring.auth import key_hash
from scoring.models import ApiKey
from scoring.serializers import TransactionInSerializer
from scoring.simulation.population import FRAUD_PER_DAY
from scoring.simulation.traffic import TrafficSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_create_integrator_prints_a_key_that_is_stored_only_hashed():
    out = io.StringIO()

    call_command("create_integrator", "acme", stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    stored = ApiKey.objects.get(integrator__name="acme")
    assert stored.key_hash == key_hash(key)
    assert key not in (stored.prefix, stored.key_hash)


def test_the_simulator_is_deterministic_for_a_seed():
    from datetime import UTC, datetime

    start = datetime(2026, 11, 24, tzinfo=UTC)

    def first(seed, run="r"):
        stream = TrafficSimulator(seed=seed, customers=50, run=run).stream(start, rate=10)
        return [next(stream).payload for _ in range(200)]

    assert first(3) == first(3)
    assert first(3) != first(4)
    assert first(3) != first(3, run="another")


def test_each_live_run_has_transaction_ids_of_its_own():
    from datetime import UTC, datetime

    def ids():
        stream = TrafficSimulator(seed=3, customers=50).stream(datetime.now(tz=UTC), rate=10)
        return {next(stream).payload["transaction_id"] for _ in range(100)}

    assert ids().isdisjoint(ids())


def test_the_simulator_sends_every_pattern_as_valid_requests(settings):
    from datetime import UTC, datetime

    simulator = TrafficSimulator(seed=1, customers=100, run="r", fraud_boost=20)
    stream = simulator.stream(datetime.now(tz=UTC), rate=100)
    sample = [next(stream) for _ in range(3000)]

    assert {t.pattern for t in sample} == {"normal", "big_purchase", *FRAUD_PER_DAY}
    for txn in sample[:300]:
        serializer = TransactionInSerializer(data=txn.payload)
        assert serializer.is_valid(), serializer.errors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_demo_runs_end_to_end_on_the_embedded_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["SQLITE_PATH"] = str(tmp_path / "demo.sqlite3")
    command = [sys.executable, "manage.py", "demo", "--duration", "4", "--rate", "20",
               "--port", str(_free_port()), "--history-days", "0"]  # fmt: skip

    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)

    assert result.returncode == 0, result.stderr[-2000:]
    assert "SQLite + in-process store" in result.stdout
    summary = [line for line in result.stdout.splitlines() if " sent | " in line][-1]
    assert "sent" in summary
    assert "normal: approve" in summary
    assert "HTTP" not in summary, summary
