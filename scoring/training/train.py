"""Training a LightGBM model on every labelled transaction (never imported by serving).

1. The dataset replays stored transactions in time order through ``decide()`` (rules only), so
   each row's features are the ones the live decision saw, and the rules' verdict comes along.
2. A time split: the earliest 70% train, the next 15% choose the model size and calibrate
   (isotonic), the latest 15% measure — against rules alone on the same window.
3. The model file is written atomically and registered, with its SHA-256, as a
   :class:`~scoring.models.ModelVersion` (the file is removed if registering fails). A metric
   the validation window cannot give (no fraud in it) is recorded as not computable.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from rules.loader import current_policy
from rules.policy import Outcome
from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import Calibration, LightGBMScorer
from scoring.model_files import sha256_hex, write_atomic
from scoring.models import LabelEvent, ModelVersion
from scoring.replay import replay, transactions_in_time_order

Progress = Callable[[str], None]

# Candidate sizes (trees, leaves): exact TreeSHAP cost grows fast with size, so the smallest
# model within AP_TOLERANCE of the best validation AP wins.
SIZES: tuple[tuple[int, int], ...] = ((50, 7), (100, 15), (200, 15), (150, 31))
AP_TOLERANCE = 0.01
REVIEW_RATE = 0.01


class NotEnoughLabels(Exception):
    """Too few labelled transactions, or no fraud among them, to train on."""


@dataclass
class Dataset:
    features: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    rules_flagged: np.ndarray  # rules and lists said review or decline
    rules_declined: np.ndarray  # ... said decline (a hard decision, not a review)
    occurred_at: list[datetime]
    transaction_pks: list[int]

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, start: int, stop: int) -> Dataset:
        return Dataset(
            self.features,
            self.x[start:stop],
            self.y[start:stop],
            self.rules_flagged[start:stop],
            self.rules_declined[start:stop],
            self.occurred_at[start:stop],
            self.transaction_pks[start:stop],
        )


def labels_known_by(moment: datetime) -> dict[int, int]:
    """transaction pk → 1 (fraud) / 0 (legit): the latest label reported by ``moment``."""
    labels: dict[int, int] = {}
    events = LabelEvent.objects.filter(reported_at__lte=moment).order_by("reported_at", "pk")
    for transaction_pk, label in events.values_list("transaction_id", "label").iterator():
        labels[transaction_pk] = int(label == "fraud")
    return labels


# A line every few seconds of replay, so a first demo never looks stuck.
REPLAY_PROGRESS_EVERY = 5000


def dataset_build(*, labels: dict[int, int], progress: Progress | None = None) -> Dataset:
    """Replay every transaction; keep the labelled ones as rows."""
    policy = current_policy()
    rows, ys, flagged, declined, times, pks = [], [], [], [], [], []
    for i, replayed in enumerate(replay(transactions_in_time_order(), policy=policy), start=1):
        txn, result = replayed.transaction, replayed.result
        if progress and i % REPLAY_PROGRESS_EVERY == 0:
            progress(f"  replayed {i} transactions")
        if txn.pk not in labels:
            continue
        rows.append([np.nan if (v := result.features[n]) is None else v for n in FEATURE_NAMES])
        ys.append(labels[txn.pk])
        flagged.append(result.outcome != Outcome.APPROVE)
        declined.append(result.outcome == Outcome.DECLINE)
        times.append(txn.occurred_at)
        pks.append(txn.pk)
    return Dataset(
        FEATURE_NAMES,
        np.array(rows, dtype=np.float64).reshape(-1, len(FEATURE_NAMES)),
        np.array(ys, dtype=np.int8),
        np.array(flagged, dtype=bool),
        np.array(declined, dtype=bool),
        times,
        pks,
    )


def split_by_time(data: Dataset) -> tuple[Dataset, Dataset, Dataset]:
    n = len(data)
    a, b = int(n * 0.70), int(n * 0.85)
    return data.rows(0, a), data.rows(a, b), data.rows(b, n)


def _fit(train: Dataset, trees: int, leaves: int, seed: int) -> lightgbm.Booster:
    params: dict[str, Any] = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": leaves,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        # Fraud is ~1% of rows: weigh it up; isotonic calibration restores probabilities.
        "scale_pos_weight": max(1.0, float((train.y == 0).sum()) / max(1, int(train.y.sum())) / 4),
        "seed": seed,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }
    dataset = lightgbm.Dataset(train.x, train.y, feature_name=list(train.features))
    return lightgbm.train(params, dataset, num_boost_round=trees)


def _explain_ms(booster: lightgbm.Booster, x: np.ndarray) -> float:
    row = x[:1]
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        booster.predict(row, pred_contrib=True, num_threads=1)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000)


@dataclass
class SizeTrial:
    trees: int
    leaves: int
    ap: float
    explain_ms: float


def choose_size(
    train: Dataset, calib: Dataset, *, seed: int, progress: Progress | None = None
) -> tuple[lightgbm.Booster, list[SizeTrial]]:
    trials, boosters = [], []
    for trees, leaves in SIZES:
        booster = _fit(train, trees, leaves, seed)
        ap = float(average_precision_score(calib.y, booster.predict(calib.x)))
        trial = SizeTrial(trees, leaves, ap, _explain_ms(booster, calib.x))
        if progress:
            progress(
                f"  {trees} trees x {leaves} leaves: AP {ap:.3f}, SHAP {trial.explain_ms:.2f} ms"
            )
        trials.append(trial)
        boosters.append(booster)
    best = max(t.ap for t in trials)
    pick = min(
        (i for i, t in enumerate(trials) if t.ap >= best - AP_TOLERANCE),
        key=lambda i: trials[i].explain_ms,
    )
    return boosters[pick], trials


def calibrate(booster: lightgbm.Booster, calib: Dataset) -> Calibration:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(booster.predict(calib.x), calib.y)
    return Calibration(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))


def recall_at_rate(scores: np.ndarray, y: np.ndarray, rate: float) -> float:
    k = max(1, round(len(scores) * rate))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(y[top].sum() / max(1, y.sum()))


def rules_plus_model_recall(scores: np.ndarray, data: Dataset, budget: int) -> float:
    """Recall when ``budget`` transactions are stopped: the rules' declines (hard decisions),
    then the highest model scores among the rest."""
    ranked = np.where(data.rules_declined, np.inf, scores)
    top = np.argsort(-ranked, kind="stable")[: max(budget, int(data.rules_declined.sum()))]
    return float(data.y[top].sum() / max(1, data.y.sum()))


NO_FRAUD = "the validation window has no fraud"
NO_LEGIT = "the validation window has no legitimate transaction"
NOT_FINITE = "not a finite number"

Metrics = dict[str, float | None]


@dataclass
class Evaluation:
    """Metrics on the validation window; one that cannot be computed is None, with a reason
    in ``not_computable`` (never NaN: it means nothing, and PostgreSQL's jsonb refuses it)."""

    values: Metrics
    not_computable: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {**self.values, "not_computable": self.not_computable}


def evaluate(scores: np.ndarray, data: Dataset) -> Evaluation:
    """Model and rules on the same window; "rules + model" stops as many transactions as the
    rules alone do (the same review rate), and at a 1% review rate.

    Every metric but the rates needs fraud in the window; the AUCs also need legit rows.
    """
    fraud = int(data.y.sum())
    result = Evaluation({"rows": float(len(data)), "fraud": float(fraud)}, {})

    def put(name: str, compute: Callable[[], float], *, needs_legit: bool = False) -> None:
        why = NO_FRAUD if fraud == 0 else None
        if needs_legit and fraud == len(data):
            why = NO_LEGIT
        value = None if why else float(compute())
        if value is not None and not math.isfinite(value):
            why, value = NOT_FINITE, None
        result.values[name] = value
        if why:
            result.not_computable[name] = why

    rules_budget = int(data.rules_flagged.sum())
    one_percent = max(1, round(len(data) * REVIEW_RATE))
    put("auc_roc", lambda: roc_auc_score(data.y, scores), needs_legit=True)
    put("average_precision", lambda: average_precision_score(data.y, scores))
    put("recall_at_1pct", lambda: recall_at_rate(scores, data.y, REVIEW_RATE))
    result.values["rules_only_review_rate"] = float(data.rules_flagged.mean())
    put("rules_only_recall", lambda: data.y[data.rules_flagged].sum() / fraud)
    put("rules_only_auc_roc", lambda: roc_auc_score(data.y, data.rules_flagged), needs_legit=True)
    put(
        "rules_only_average_precision",
        lambda: average_precision_score(data.y, data.rules_flagged),
    )
    put(
        "rules_plus_model_recall_at_rules_rate",
        lambda: rules_plus_model_recall(scores, data, rules_budget),
    )
    put(
        "rules_plus_model_recall_at_1pct",
        lambda: rules_plus_model_recall(scores, data, one_percent),
    )
    return result


def data_hash(data: Dataset) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(data.x).tobytes())
    digest.update(data.y.tobytes())
    return digest.hexdigest()


@dataclass
class TrainingResult:
    version: ModelVersion
    trials: list[SizeTrial]
    evaluation: Evaluation


def model_train(*, seed: int = 7, progress: Progress | None = None) -> TrainingResult:
    """Train, calibrate, evaluate and register a model (not promoted)."""
    now = timezone.now()
    say = progress or (lambda _: None)
    labels = labels_known_by(now)
    say(f"{len(labels)} labelled transactions; replaying history through decide()")
    data = dataset_build(labels=labels, progress=progress)
    if len(data) < 1000 or data.y.sum() < 20:
        raise NotEnoughLabels(f"{len(data)} labelled rows with {int(data.y.sum())} fraud")
    train, calib, valid = split_by_time(data)
    say(f"train {len(train)} / calibrate {len(calib)} / validate {len(valid)} rows (by time)")
    booster, trials = choose_size(train, calib, seed=seed, progress=progress)
    calibration = calibrate(booster, calib)
    scores = np.array([calibration.apply(p) for p in booster.predict(valid.x)])
    evaluation = evaluate(scores, valid)
    version = _register(booster, calibration, data, train, valid, evaluation, now)
    return TrainingResult(version, trials, evaluation)


def model_file_register(
    data: bytes, path: Path, register: Callable[[str], ModelVersion]
) -> ModelVersion:
    """Write the model file atomically, then ``register(its SHA-256)`` in a transaction.

    If registering fails the file is removed: no file is left for a version that does not
    exist. The transaction is durable (not nested in another), so once this returns the
    version is committed and its file is there.
    """
    write_atomic(path, [data])
    try:
        with transaction.atomic(durable=True):
            return register(sha256_hex(data))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _register(
    booster: lightgbm.Booster,
    calibration: Calibration,
    data: Dataset,
    train: Dataset,
    valid: Dataset,
    evaluation: Evaluation,
    now: datetime,
) -> ModelVersion:
    name = f"lgbm-{now:%Y%m%d-%H%M%S}"
    directory = Path(settings.MODEL_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    # A file name of its own: a failed registration (say, a name taken by a training in the
    # same second) removes only this file, never another version's.
    path = directory / f"{name}-{uuid.uuid4().hex[:8]}.txt"

    def register(sha256: str) -> ModelVersion:
        LightGBMScorer.load(  # fails loudly now rather than at serving time
            path,
            version=name,
            sha256=sha256,
            features=data.features,
            calibration=calibration,
            known_features=FEATURE_NAMES,
        )
        return ModelVersion.objects.create(
            name=name,
            path=str(path),
            sha256=sha256,
            features=[{"name": n, "type": "number"} for n in data.features],
            calibration={"x": list(calibration.x), "y": list(calibration.y)},
            params={
                "trees": booster.num_trees(),
                "leaves": int(booster.params.get("num_leaves", 0)),
            },
            metrics=evaluation.as_json(),
            trained_from=train.occurred_at[0],
            trained_until=valid.occurred_at[-1],
            data_hash=data_hash(data),
            parent=ModelVersion.objects.filter(is_active=True).first(),
        )

    return model_file_register(booster.model_to_string().encode("utf-8"), path, register)
