"""What each feature family adds: train with and without it, on the same simulated data.

Run ``python bench/ablation.py [--customers N --days D --seed S]``. A simulated history (fixed
seed and start date) is replayed in time order through ``decide()`` with an in-process store
and a daily cold generation computed from the history and the labels reported before it (as
``history_load`` does), so every row has the features a live decision would have had. Rows are
split by time (70% train, 15% calibrate, the latest 15% validate, as ``train_model``); for
each variant a LightGBM of the product's smallest size (``train._fit``, 100 trees x 15 leaves)
is trained on the true fraud flags without the family's columns and measured on the
validation window: average precision and ROC AUC.

Not a test: a few minutes on the default size.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("PII_HASH_KEY", "bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fraudops.settings")

import django

django.setup()

from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

from rules.engine import RuleSet  # noqa: E402
from rules.policy import Lists, Policy, Thresholds  # noqa: E402
from scoring.features.cold import as_of_for  # noqa: E402
from scoring.features.definitions import FEATURE_NAMES  # noqa: E402
from scoring.features.memory_store import MemoryFeatureStore  # noqa: E402
from scoring.features.store import ColdOverlay  # noqa: E402
from scoring.pipeline import decide  # noqa: E402
from scoring.scorer import NoModelScorer  # noqa: E402
from scoring.simulation.history import HistoricalTransaction, HistorySimulator, cold_history_of  # noqa: E402
from scoring.training.dataset import Dataset, split_by_time  # noqa: E402
from scoring.training.train import _fit  # noqa: E402
from scoring.transaction import RULE_FACTS, TransactionFacts  # noqa: E402

FAMILIES: dict[str, tuple[str, ...]] = {
    "customer spend 24h/7d/30d": (
        "customer_txn_count_7d", "customer_amount_sum_7d", "amount_to_customer_mean_7d",
        "customer_txn_count_30d", "customer_amount_sum_30d", "amount_to_customer_mean_24h",
    ),
    "merchant fraud rate 1d/7d/30d": tuple(
        f"merchant_fraud_{k}_{w}" for k in ("rate", "lift") for w in ("1d", "7d", "30d")
    ),
    "time since first seen": tuple(
        f"{e}_seconds_since_first" for e in ("card", "customer", "device")
    ),
    "velocity 1m/1h/24h (set 1)": tuple(
        n for n in FEATURE_NAMES if ("_txn_count_" in n or "_amount_sum_" in n)
        and n.rsplit("_", 1)[-1] in ("1m", "1h", "24h")
    ),
    "cold habits (set 1)": (
        "customer_amount_mean_30d", "amount_to_customer_mean_30d", "customer_amount_mean_90d",
        "customer_txn_count_90d", "hours_from_customer_typical_hour",
        "customer_hour_concentration_90d", "merchant_txn_count_28d", "merchant_fraud_rate_28d",
        "device_customers_30d", "ip_customers_30d",
    ),
}  # fmt: skip
NEW_IN_SET_2 = {n for family in list(FAMILIES.values())[:3] for n in family}


def facts_of(payload: dict[str, object]) -> TransactionFacts:
    """The simulator's payload as the pipeline sees it (no e-mail: not a feature)."""
    fields = {k: payload.get(k) for k in ("customer_id", "merchant_id", "card_id", "device_id")}
    return TransactionFacts(
        **fields,  # type: ignore[arg-type]
        ip=payload.get("ip"),  # type: ignore[arg-type]
        country=payload.get("country"),  # type: ignore[arg-type]
        payee_id=payload.get("payee_id"),  # type: ignore[arg-type]
        transaction_id=str(payload["transaction_id"]),
        occurred_at=datetime.fromisoformat(str(payload["occurred_at"])),
        amount=Decimal(str(payload["amount"])),
        currency=str(payload["currency"]),
        channel=str(payload["channel"]),
        merchant_category=payload.get("merchant_category"),  # type: ignore[arg-type]
    )


def dataset(history: list[HistoricalTransaction]) -> Dataset:
    all_facts = [facts_of(t.payload) for t in history]
    cold = cold_history_of(history, all_facts)
    store = ColdOverlay(MemoryFeatureStore(), cold)
    policy = Policy(0, RuleSet([], RULE_FACTS), Lists(), Thresholds(0.5, 0.9))
    rows = []
    for facts in all_facts:
        store.at(as_of_for(facts.occurred_at.timestamp(), 86400))
        result = decide(
            facts, ref=facts.transaction_id, scope="1", store=store, policy=policy,
            scorer=NoModelScorer(),
        )  # fmt: skip
        rows.append([np.nan if (v := result.features[n]) is None else v for n in FEATURE_NAMES])
    n = len(history)
    return Dataset(
        FEATURE_NAMES, np.array(rows), np.array([int(t.is_fraud) for t in history]),
        np.zeros(n, bool), np.zeros(n, bool),
        np.array([t.occurred_at.timestamp() for t in history]), np.arange(n),
    )  # fmt: skip


def without(data: Dataset, names: set[str]) -> Dataset:
    keep = [i for i, name in enumerate(data.features) if name not in names]
    return Dataset(
        tuple(data.features[i] for i in keep), data.x[:, keep], data.y, data.rules_flagged,
        data.rules_declined, data.occurred_ts, data.transaction_pks,
    )  # fmt: skip


def measure(data: Dataset, seed: int) -> tuple[float, float]:
    train, _, valid = split_by_time(data)
    scores = _fit(train, 100, 15, seed).predict(valid.x)
    return (
        float(average_precision_score(valid.y, scores)),
        float(roc_auc_score(valid.y, scores)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    history = HistorySimulator(seed=args.seed, customers=args.customers).generate(
        start=datetime(2026, 3, 2, tzinfo=UTC), days=args.days
    )
    data = dataset(history)
    _, _, valid = split_by_time(data)
    print(f"{len(data)} rows, {int(data.y.sum())} fraud; validation {len(valid)} rows, "
          f"{int(valid.y.sum())} fraud (seed {args.seed}, {args.customers} customers, "
          f"{args.days} days from 2026-03-02)")  # fmt: skip
    variants = [("all (feature set 2)", set()), ("feature set 1 (none of the new)", NEW_IN_SET_2)]
    variants += [(f"without {name}", set(names)) for name, names in FAMILIES.items()]
    print(f"{'variant':<44} {'AP':>6} {'ROC AUC':>8}")
    for name, dropped in variants:
        ap, auc = measure(without(data, dropped), args.seed)
        print(f"{name:<44} {ap:6.3f} {auc:8.3f}")


if __name__ == "__main__":
    main()
