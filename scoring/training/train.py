"""Training a LightGBM model on every transaction whose label is known (never imported by
serving).

1. The dataset (``training/dataset.py``) is what the decisions logged: each row's features
   are the ones its live decision stored (point-in-time by construction), read as columns
   into float32 arrays. Only decisions
   stored with an older feature-set version are decided again through ``decide()``
   (``replay.features_recomputed``). The rules' verdict is the one stored with each decision
   (``Decision.rules_outcome``: lists and rules in force at the time, before any model), so the
   model is measured against the rules the team actually had.
2. Labels are ``label_reads.label_columns`` as of the training moment: explicit labels by
   precedence, else legit once the maturity has passed. The rows are the transactions past
   their maturity: a younger one is left out even with an explicit label, since of those only
   the frauds are known yet (they would bias the latest window toward fraud). How the rows
   were labelled (coverage, delays) is recorded with the model.
3. A time split: the earliest 70% train, the next 15% choose the model size and calibrate
   (isotonic), the latest 15% measure — against rules alone on the same window.
4. The model file is written atomically and registered, with its SHA-256, as a
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

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from scoring.compare_metrics import recall_at_rate
from scoring.features.definitions import FEATURE_NAMES, FEATURE_SET_VERSION
from scoring.label_reads import LabelCoverage
from scoring.lgbm import Calibration, LightGBMScorer
from scoring.lightgbm_lean import lightgbm
from scoring.model_files import sha256_hex, write_atomic
from scoring.models import ModelVersion
from scoring.threshold_choice import ThresholdCurve, threshold_curve
from scoring.training.dataset import (
    Dataset,
    NotEnoughLabels,
    Progress,
    dataset_build,
    split_by_time,
)

# Candidate sizes (trees, leaves): exact TreeSHAP cost grows fast with size, so the smallest
# model within AP_TOLERANCE of the best validation AP wins.
SIZES: tuple[tuple[int, int], ...] = ((50, 7), (100, 15), (200, 15), (150, 31))
AP_TOLERANCE = 0.01
REVIEW_RATE = 0.01


def _training_set(train: Dataset) -> lightgbm.Dataset:
    """The training rows binned once, reused by every size tried (binning a million rows
    costs as much as training a small model)."""
    return lightgbm.Dataset(
        train.x, train.y, feature_name=list(train.features), free_raw_data=False
    )


def _fit(
    train: Dataset,
    trees: int,
    leaves: int,
    seed: int,
    *,
    dataset: lightgbm.Dataset | None = None,
) -> lightgbm.Booster:
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
    return lightgbm.train(params, dataset or _training_set(train), num_boost_round=trees)


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
    dataset = _training_set(train)
    for trees, leaves in SIZES:
        booster = _fit(train, trees, leaves, seed, dataset=dataset)
        ap = float(average_precision_score(calib.y, booster.predict(calib.x)))
        trial = SizeTrial(trees, leaves, ap, _explain_ms(booster, calib.x))
        if progress:
            progress(
                f"  {trees} trees x {leaves} leaves: AP {ap:.3f}, SHAP {trial.explain_ms:.2f} ms"
            )
        trials.append(trial)
        boosters.append(booster)
    best = max(t.ap for t in trials)
    # The cheapest size to explain among the near-best: TreeSHAP's cost grows with trees x
    # leaves. Not the measured time, which a busy machine changes: the same data must give
    # the same model.
    pick = min(
        (i for i, t in enumerate(trials) if t.ap >= best - AP_TOLERANCE),
        key=lambda i: (trials[i].trees * trials[i].leaves, -trials[i].ap),
    )
    return boosters[pick], trials


def calibrate(booster: lightgbm.Booster, calib: Dataset) -> Calibration:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(booster.predict(calib.x), calib.y)
    return Calibration(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))


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


def validation_curve(scores: np.ndarray, valid: Dataset) -> ThresholdCurve:
    """The validation window over the threshold grid, kept with the model for recommending its
    thresholds; a row's fraud loss is its amount (the "amount" feature is the amount sent)."""
    amounts = valid.x[:, valid.features.index("amount")]
    days = float(valid.occurred_ts[-1] - valid.occurred_ts[0]) / 86400 if len(valid) else 0.0
    return threshold_curve(scores=scores, y=valid.y, amounts=amounts, days=days)


def data_hash(data: Dataset) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(data.x).tobytes())
    digest.update(data.y.tobytes())
    return digest.hexdigest()


def scores_of(scorer: LightGBMScorer, data: Dataset) -> np.ndarray:
    """``scorer``'s calibrated probabilities of ``data``'s rows (say, another version on this
    one's validation window), its features picked from the dataset's columns by name."""
    columns = [data.features.index(name) for name in scorer.features]
    return scorer.predict_rows(data.x[:, columns])


@dataclass
class TrainingResult:
    version: ModelVersion
    trials: list[SizeTrial]
    evaluation: Evaluation
    holdout: Dataset | None = None  # the validation window the evaluation was measured on


def model_train(
    *,
    seed: int = 7,
    progress: Progress | None = None,
    now: datetime | None = None,
    since: datetime | None = None,
) -> TrainingResult:
    """Train, calibrate, evaluate and register a model (not promoted), on the labels known as
    of ``now`` (default: the present), from the transactions since ``since`` (default: all)."""
    now = now or timezone.now()
    say = progress or (lambda _: None)
    say("reading the features the decisions logged")
    started = time.perf_counter()
    data = dataset_build(moment=now, progress=progress, since=since)
    say(f"  {len(data)} labelled rows in {time.perf_counter() - started:.1f} s")
    if data.coverage is not None:
        say(f"labels: {coverage_text(data.coverage)}")
    if len(data) < 1000 or data.y.sum() < 20:
        raise NotEnoughLabels(f"{len(data)} labelled rows with {int(data.y.sum())} fraud")
    train, calib, valid = split_by_time(data)
    say(f"train {len(train)} / calibrate {len(calib)} / validate {len(valid)} rows (by time)")
    started = time.perf_counter()
    booster, trials = choose_size(train, calib, seed=seed, progress=progress)
    say(f"  sizes tried in {time.perf_counter() - started:.1f} s")
    calibration = calibrate(booster, calib)
    scores = calibration.apply_many(np.asarray(booster.predict(valid.x)))
    evaluation = evaluate(scores, valid)
    curve = validation_curve(scores, valid)
    version = _register(booster, calibration, data, train, valid, evaluation, curve)
    return TrainingResult(version, trials, evaluation, valid)


def coverage_text(coverage: LabelCoverage) -> str:
    """The coverage in a sentence (the train_model command and the model's admin page)."""
    share = coverage.explicit_share
    text = (
        f"{coverage.rows} transactions, {coverage.explicit} with an explicit label"
        f" ({0.0 if share is None else share:.1%}), {coverage.legit_by_maturity} legit by"
        f" maturity, {coverage.fraud} fraud"
    )
    median, p90 = coverage.fraud_delay_median_days, coverage.fraud_delay_p90_days
    if median is not None and p90 is not None:
        text += f"; fraud reported after {median:.1f} days (median), {p90:.1f} days (p90)"
    return text


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
    curve: ThresholdCurve | None = None,
) -> ModelVersion:
    # Named by when it was trained, not by the moment it was trained as of (a past one when
    # training as of then): two trainings as of the same moment get two names.
    name = f"lgbm-{timezone.now():%Y%m%d-%H%M%S}"
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
            trained_from=train.occurred_at(0),
            trained_until=valid.occurred_at(len(valid) - 1),
            data_hash=data_hash(data),
            feature_set_version=FEATURE_SET_VERSION,
            label_coverage=data.coverage.as_json() if data.coverage else {},
            threshold_curve=curve or {},
            parent=ModelVersion.objects.champion(),
        )

    return model_file_register(booster.model_to_string().encode("utf-8"), path, register)
