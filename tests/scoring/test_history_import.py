"""Back-filled history: posted through the API with past timestamps, or loaded in bulk by
``manage.py import_history``, a transaction gets the cold values of its own period, the same
either way; live traffic still reads the current generation."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from rules.demo import demo_policy_seed
from scoring import serving
from scoring.cold_lookup import PointInTimeCold
from scoring.features.cold import as_of_for, entry_key
from scoring.features.memory_store import MemoryFeatureStore
from scoring.models import Decision, Integrator, LabelEvent, Transaction
from tests import factories
from tests.scoring.backfill import PERIOD, labels_of, post_in_time_order, simulated

pytestmark = pytest.mark.django_db

# The history's fixed dates lie before the API's window once the suite runs late enough.
LIFTED_WINDOW = override_settings(DECISION_MAX_AGE_DAYS=100 * 365)
# A current generation published after the whole history: every transaction is back-filled.
LATER_GENERATION = datetime(2026, 6, 1, tzinfo=UTC)

TRANSACTION_COLUMNS = [
    "transaction_id", "occurred_at", "amount", "currency", "customer_id", "merchant_id",
    "merchant_category", "channel", "card_id", "country", "ip", "device_id", "email",
    "payee_id", "metadata",
]  # fmt: skip


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
            )
    return path


def _files(tmp_path: Path, history, labels, *, parquet: bool = False) -> tuple[Path, Path]:
    txns = [dict(t.payload) for t in history]
    label_rows = [label.body() for label in labels]
    if parquet:
        columns = {name: [row.get(name) for row in txns] for name in TRANSACTION_COLUMNS}
        columns["metadata"] = [None] * len(txns)
        pq.write_table(pa.table(columns), tmp_path / "transactions.parquet")
        pq.write_table(pa.Table.from_pylist(label_rows), tmp_path / "labels.parquet")
        return tmp_path / "transactions.parquet", tmp_path / "labels.parquet"
    return (
        _write_csv(tmp_path / "transactions.csv", TRANSACTION_COLUMNS, txns),
        _write_csv(
            tmp_path / "labels.csv",
            ["transaction_id", "label", "source", "reported_at"],
            label_rows,
        ),
    )


def _stored(integrator) -> dict[str, tuple]:
    """Transaction id → (features, cold_as_of, degraded) of the integrator's decisions."""
    rows = Decision.objects.filter(transaction__integrator=integrator).values_list(
        "transaction__transaction_id", "features", "cold_as_of", "degraded"
    )
    return {txn_id: tuple(rest) for txn_id, *rest in rows}


@pytest.mark.parametrize(
    ("generation", "parquet"),
    [(None, False), (LATER_GENERATION, True)],
    ids=["no-generation-yet-csv", "a-later-generation-parquet"],
)
def test_a_history_posted_through_the_api_and_imported_in_bulk_gets_the_same_features(
    api, issued, settings, tmp_path, generation, parquet
):
    settings.COLD_FEATURES_PERIOD_SECONDS = PERIOD
    demo_policy_seed()
    if generation is not None:
        serving.feature_store().cold_publish(generation.timestamp(), [])
    history = simulated(customers=20)
    labels = labels_of(history)
    transactions_file, labels_file = _files(tmp_path, history, labels, parquet=parquet)
    bulk = Integrator.objects.create(name="bulk")

    with LIFTED_WINDOW:
        post_in_time_order(api, history, labels)
        call_command(
            "import_history", transactions_file, labels=labels_file, integrator="bulk", verbosity=0
        )

    by_api, in_bulk = _stored(issued.api_key.integrator), _stored(bulk)
    assert len(by_api) == len(history)
    assert by_api == in_bulk
    features = [f for f, _, _ in by_api.values()]
    assert any(f["merchant_fraud_rate_28d"] for f in features)
    assert any(f["amount_to_customer_mean_30d"] for f in features)
    periods = {as_of_for(t.occurred_at.timestamp(), PERIOD) for t in history}
    recorded = {cold_as_of.timestamp() for _, cold_as_of, _ in by_api.values() if cold_as_of}
    assert recorded == (periods if generation else periods - {min(periods)})
    assert LabelEvent.objects.filter(transaction__integrator=bulk).count() == len(labels)


def test_the_import_decides_in_time_order_whatever_the_file_order(issued, settings, tmp_path):
    settings.COLD_FEATURES_PERIOD_SECONDS = PERIOD
    history = simulated(days=2, customers=10)
    labels = labels_of(history)
    ordered, shuffled = (
        Integrator.objects.create(name="ordered"),
        Integrator.objects.create(name="shuffled"),
    )
    files = _files(tmp_path, history, labels)
    (tmp_path / "reversed").mkdir()
    reversed_files = _files(tmp_path / "reversed", history[::-1], labels[::-1])

    with LIFTED_WINDOW:
        call_command("import_history", files[0], labels=files[1], integrator="ordered", verbosity=0)
        call_command(
            "import_history",
            reversed_files[0],
            labels=reversed_files[1],
            integrator="shuffled",
            verbosity=0,
        )

    assert _stored(ordered) == _stored(shuffled)


def test_live_traffic_reads_the_current_generation_not_the_database(api, issued, settings):
    """The generation says the customer's 30-day mean is 10.0; the database holds nothing of
    them. A live transaction (in the generation's period) reads the generation."""
    settings.COLD_FEATURES_PERIOD_SECONDS = PERIOD
    occurred = datetime.now(tz=UTC)
    as_of = as_of_for(occurred.timestamp(), PERIOD)
    key = entry_key("c", str(issued.api_key.integrator.pk), "cust-1")
    serving.feature_store().cold_publish(as_of, [(key, "10.0,10.0,3,,")])

    body = factories.payload(occurred_at=occurred.isoformat(), amount="25.00")
    assert api.post("/api/v1/decisions", body, format="json").status_code == 201

    decision = Decision.objects.get()
    assert decision.cold_as_of is not None
    assert decision.cold_as_of.timestamp() == as_of
    assert decision.features["amount_to_customer_mean_30d"] == 2.5
    assert decision.degraded is False


def test_a_back_filled_transaction_reads_its_own_period_from_the_database(api, issued, settings):
    """Same generation, but the transaction occurred two periods before it: it gets the
    values of its own period, from the customer's stored payments before that period."""
    settings.COLD_FEATURES_PERIOD_SECONDS = PERIOD
    now = datetime.now(tz=UTC)
    as_of = as_of_for(now.timestamp(), PERIOD)
    key = entry_key("c", str(issued.api_key.integrator.pk), "cust-1")
    serving.feature_store().cold_publish(as_of, [(key, "10.0,10.0,3,,")])
    own = datetime.fromtimestamp(as_of - 2 * PERIOD, UTC)
    for i, amount in enumerate(["40.00", "60.00"]):
        earlier = (own - timedelta(days=1, minutes=i)).isoformat()
        body = factories.payload(occurred_at=earlier, amount=amount)
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201

    body = factories.payload(occurred_at=(own + timedelta(minutes=5)).isoformat(), amount="25.00")
    decision_id = api.post("/api/v1/decisions", body, format="json").json()["decision_id"]

    decision = Decision.objects.get(pk=decision_id)
    assert decision.cold_as_of is not None
    assert decision.cold_as_of.timestamp() == own.timestamp()
    assert decision.features["amount_to_customer_mean_30d"] == 0.5


# --- hostile files ------------------------------------------------------------------------


def _import_refused(tmp_path: Path, rows: list[dict], columns=TRANSACTION_COLUMNS, labels=None):
    path = _write_csv(tmp_path / "t.csv", columns, rows)
    options = {"integrator": "acme", "verbosity": 0}
    if labels is not None:
        options["labels"] = _write_csv(
            tmp_path / "l.csv", ["transaction_id", "label", "source", "reported_at"], labels
        )
    with pytest.raises(CommandError) as refused:
        call_command("import_history", path, **options)
    assert not Transaction.objects.exists()
    assert not Decision.objects.exists()
    assert not LabelEvent.objects.exists()
    return str(refused.value)


def _good(n: int) -> list[dict]:
    start = datetime.now(tz=UTC) - timedelta(days=10)
    return [
        factories.payload(
            transaction_id=f"t-{i}", occurred_at=(start + timedelta(hours=i)).isoformat()
        )
        for i in range(n)
    ]


def test_a_bad_row_is_named_by_its_line_and_field_and_nothing_is_written(issued, tmp_path):
    rows = _good(5)
    rows[3]["amount"] = "-3"
    rows[4]["occurred_at"] = "2026-03-02T10:00:00"

    report = _import_refused(tmp_path, rows)

    assert "t.csv line 5, amount:" in report
    assert "t.csv line 6, occurred_at: The date-time has no UTC offset" in report
    assert "2 problem(s)" in report


def test_a_card_number_in_a_free_text_field_is_refused_and_not_repeated(issued, tmp_path):
    rows = _good(3)
    rows[1]["merchant_category"] = "4111 1111 1111 1111"

    report = _import_refused(tmp_path, rows)

    assert "t.csv line 3, merchant_category: Looks like a card number" in report
    assert "4111" not in report


def test_a_duplicate_transaction_id_is_refused_in_the_file_and_against_the_database(
    api, issued, tmp_path
):
    rows = _good(4)
    rows[2]["transaction_id"] = "t-0"
    report = _import_refused(tmp_path, rows)
    assert "t.csv line 4, transaction_id: 't-0' is also at t.csv line 2." in report

    assert (
        api.post(
            "/api/v1/decisions", _good(1)[0] | {"transaction_id": "t-9"}, format="json"
        ).status_code
        == 201
    )
    rows = _good(3)
    rows[1]["transaction_id"] = "t-9"
    path = _write_csv(tmp_path / "t.csv", TRANSACTION_COLUMNS, rows)
    with pytest.raises(CommandError, match="line 3, transaction_id: 't-9' is already stored"):
        call_command("import_history", path, integrator="acme", verbosity=0)
    assert Transaction.objects.count() == 1


def test_a_label_on_an_unknown_transaction_refuses_the_transactions_too(issued, tmp_path):
    rows = _good(2)
    labels = [
        {
            "transaction_id": "nope",
            "label": "fraud",
            "source": "chargeback",
            "reported_at": rows[1]["occurred_at"],
        }
    ]

    report = _import_refused(tmp_path, rows, labels=labels)

    assert "l.csv line 2, transaction_id: 'nope' is neither imported nor stored." in report


def test_a_missing_optional_column_is_absent_but_a_missing_required_one_is_refused(
    issued, tmp_path
):
    rows = [{k: v for k, v in row.items() if k not in ("payee_id", "email")} for row in _good(3)]
    without_optional = [c for c in TRANSACTION_COLUMNS if c not in ("payee_id", "email")]
    path = _write_csv(tmp_path / "ok.csv", without_optional, rows)
    call_command("import_history", path, integrator="acme", verbosity=0)
    assert Transaction.objects.filter(email_hash="", payee_id="").count() == 3

    no_amount = [c for c in without_optional if c != "amount"]
    rows = [{k: v for k, v in row.items() if k in no_amount} for row in _good(2)]
    for row in rows:
        row["transaction_id"] += "-b"
    path = _write_csv(tmp_path / "bad.csv", no_amount, rows)
    with pytest.raises(CommandError, match=r"bad\.csv, amount: Required column missing\."):
        call_command("import_history", path, integrator="acme", verbosity=0)
    assert Transaction.objects.count() == 3


def test_an_unknown_column_is_refused(issued, tmp_path):
    rows = [row | {"pan": "x"} for row in _good(2)]
    report = _import_refused(tmp_path, rows, columns=[*TRANSACTION_COLUMNS, "pan"])
    assert "t.csv, pan: Unknown column." in report


def test_a_file_that_is_not_parquet_is_refused_as_such(issued, tmp_path):
    path = tmp_path / "t.parquet"
    path.write_text("transaction_id\nt-1\n")

    with pytest.raises(CommandError, match=r"t\.parquet, file: Cannot be read"):
        call_command("import_history", path, integrator="acme", verbosity=0)


class _FailingSource:
    def values(self, scope, event, as_of):
        raise ConnectionError("database down")

    def history_before(self, scope, as_of):
        return True


def test_a_back_filled_event_whose_cold_values_cannot_be_read_is_not_counted():
    store = MemoryFeatureStore()
    backfill = PointInTimeCold(store, _FailingSource(), period=PERIOD)
    event = factories.event("r1", ts=1_780_000_000.0)

    with pytest.raises(ConnectionError):
        backfill.observe(event, scope="s")

    assert (
        store.observe(factories.event("r2", ts=1_780_000_060.0), scope="s")
        .velocity["customer"]["1h"]
        .count
        == 0
    )
