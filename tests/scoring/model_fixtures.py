"""A small real LightGBM model, trained once per test session on a simulated history.

Training here runs the same replay and the same fitting code as ``train_model``, without the
database: the history is replayed through ``decide()`` with an in-process store and a daily
cold generation computed from the history itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from django.test import override_settings

from rules.demo import DEMO_RULES
from rules.engine import Action, RuleSet, RuleSpec
from rules.policy import Lists, Policy, Thresholds
from scoring.features.cold import as_of_for
from scoring.features.definitions import FEATURE_NAMES
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.store import ColdOverlay
from scoring.lgbm import Calibration
from scoring.model_files import sha256_hex
from scoring.pipeline import DecisionResult, decide
from scoring.scorer import NoModelScorer, Scorer
from scoring.serializers import TransactionInSerializer
from scoring.simulation.history import HistoricalTransaction, HistorySimulator, cold_history_of
from scoring.training.dataset import Dataset, split_by_time
from scoring.training.train import _fit, calibrate
from scoring.transaction import RULE_FACTS, TransactionFacts, decision_request_from


@dataclass(frozen=True)
class TrainedModel:
    path: Path
    calibration: Calibration

    @property
    def sha256(self) -> str:
        return sha256_hex(self.path.read_bytes())


def demo_policy() -> Policy:
    specs = [RuleSpec(name, 1, expr, Action(action)) for name, expr, action, _ in DEMO_RULES]
    return Policy(0, RuleSet(specs, RULE_FACTS), Lists(), Thresholds(0.5, 0.9))


# The cold generations of a replayed history: one a day, as a daily beat would publish.
COLD_PERIOD = 86400.0


def replayed(
    history: list[HistoricalTransaction],
    *,
    policy: Policy | None = None,
    scorer: Scorer | None = None,
) -> Iterator[tuple[HistoricalTransaction, TransactionFacts, DecisionResult]]:
    """Each transaction of ``history`` decided in order (rules only, unless a ``scorer`` is
    given), as the API would, with the cold values of the day's generation: from the history
    before the day and the labels reported before it."""
    all_facts = [_facts(txn) for txn in history]
    cold = cold_history_of(history, all_facts)
    store = ColdOverlay(MemoryFeatureStore(), cold)
    policy = policy or demo_policy()
    for txn, facts in zip(history, all_facts, strict=True):
        store.at(as_of_for(facts.occurred_at.timestamp(), COLD_PERIOD))
        result = decide(
            facts, ref=facts.transaction_id, scope="1", store=store, policy=policy,
            scorer=scorer or NoModelScorer(),
        )  # fmt: skip
        yield txn, facts, result


def _facts(txn: HistoricalTransaction) -> TransactionFacts:
    serializer = TransactionInSerializer(data=txn.payload)
    # Fixed dates, whatever day the suite runs: the API's back-fill window does not apply.
    with override_settings(DECISION_MAX_AGE_DAYS=100 * 365):
        assert serializer.is_valid(), serializer.errors
    return decision_request_from(serializer.validated_data).facts


def train_small_model(directory: Path, *, seed: int = 11, trees: int = 60) -> TrainedModel:
    history = HistorySimulator(seed=seed, customers=300).generate(
        start=datetime(2026, 8, 1, tzinfo=UTC), days=25
    )
    rows, ys, flagged, declined, times = [], [], [], [], []
    for txn, _, result in replayed(history):
        rows.append([np.nan if (v := result.features[n]) is None else v for n in FEATURE_NAMES])
        ys.append(int(txn.is_fraud))
        flagged.append(result.outcome != "approve")
        declined.append(result.outcome == "decline")
        times.append(txn.occurred_at)
    data = Dataset(
        FEATURE_NAMES, np.array(rows), np.array(ys), np.array(flagged), np.array(declined),
        np.array([t.timestamp() for t in times]), np.arange(len(ys)),
    )  # fmt: skip
    train, calib, _ = split_by_time(data)
    booster = _fit(train, trees, 15, seed)
    path = directory / f"model-{seed}-{trees}.txt"
    booster.save_model(str(path))
    return TrainedModel(path, calibrate(booster, calib))
