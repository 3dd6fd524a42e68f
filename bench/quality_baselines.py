"""The model quality benchmark's yardsticks (``bench/model_quality.py``): its metrics, and the
textbook baselines (a logistic regression and a LightGBM on hand-made features computed here
with numpy from the raw payments) that the product is measured against."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lightgbm
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.quality_data import Scenario

TOP_K = 100  # the precision of the highest scores: of this many

# --- metrics -------------------------------------------------------------------------------


def precision_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Precision of the ``k`` highest scores; a tie across the cut counts at its fraud rate (the
    expected precision when ties are broken at random)."""
    k = min(k, len(y))
    cut = np.sort(scores)[::-1][k - 1]
    above = scores > cut
    tied = scores == cut
    room = k - int(above.sum())
    return float((y[above].sum() + room * y[tied].mean()) / k)


@dataclass(frozen=True)
class Quality:
    ap: float
    auc: float
    p_at_k: float


def quality(y: np.ndarray, scores: np.ndarray) -> Quality:
    return Quality(
        float(average_precision_score(y, scores)),
        float(roc_auc_score(y, scores)),
        precision_at_k(y, scores, TOP_K),
    )


# --- the baselines: hand-made features -----------------------------------------------------

DAY_MS = 86_400_000
WINDOWS_DAYS = (1, 7, 30)
GROUP_SPAN = 10**13  # ms, more than any time span here: (group, time) as one sortable integer


@dataclass(frozen=True)
class Raw:
    """The payments as arrays, in time order."""

    ts: np.ndarray  # int64 ms since the epoch
    amount: np.ndarray
    customer: np.ndarray  # int codes; -1 when absent
    merchant: np.ndarray
    card: np.ndarray
    device: np.ndarray
    channel: list[str]
    local_hour: np.ndarray
    chargeback_ts: np.ndarray  # ms of the chargeback's report if known by the split, else inf
    is_fraud: np.ndarray


def _codes(values: Sequence[str | None]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([-1 if v is None else index.setdefault(v, len(index)) for v in values])


def raw_arrays(scenario: Scenario) -> Raw:
    payments = scenario.payments
    local = [datetime.fromisoformat(t.payload["occurred_at"]) for t in payments]
    chargebacks = [scenario.chargeback_at(t) for t in payments]
    return Raw(
        ts=np.array([round(t.occurred_at.timestamp() * 1000) for t in payments], dtype=np.int64),
        amount=np.array([float(t.payload["amount"]) for t in payments]),
        customer=_codes([t.payload.get("customer_id") for t in payments]),
        merchant=_codes([t.payload.get("merchant_id") for t in payments]),
        card=_codes([t.payload.get("card_id") for t in payments]),
        device=_codes([t.payload.get("device_id") for t in payments]),
        channel=[str(t.payload["channel"]) for t in payments],
        local_hour=np.array([d.hour + d.minute / 60 for d in local]),
        chargeback_ts=np.array(
            [np.inf if c is None else c.timestamp() * 1000 for c in chargebacks]
        ),
        is_fraud=np.array([t.is_fraud for t in payments], dtype=np.int8),
    )


def window_before(
    group: np.ndarray, ts: np.ndarray, values: np.ndarray, window_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per payment: the count and the sum of ``values`` over its group's earlier payments in
    [ts - window, ts). Payments are in time order; a group of -1 (absent) gives NaN."""
    order = np.lexsort((np.arange(len(ts)), group))  # by group, then time order
    key = group[order] * GROUP_SPAN + ts[order]
    lo = np.searchsorted(key, key - window_ms, side="left")
    position = np.arange(len(ts))
    sums = np.concatenate([[0.0], np.cumsum(values[order])])
    count, total = np.empty(len(ts)), np.empty(len(ts))
    count[order] = position - lo
    total[order] = sums[position] - sums[lo]
    absent = group < 0
    count[absent], total[absent] = np.nan, np.nan
    return count, total


def hours_since_first_seen(group: np.ndarray, ts: np.ndarray) -> np.ndarray:
    first: dict[int, int] = {}
    out = np.full(len(ts), np.nan)
    for i, (g, t) in enumerate(zip(group.tolist(), ts.tolist(), strict=True)):
        if g >= 0:
            out[i] = (t - first.setdefault(g, t)) / 3_600_000
    return out


def merchant_fraud_rate(raw: Raw, window_ms: int) -> np.ndarray:
    """Per payment: the share of its merchant's payments in [ts - window, ts) whose chargeback
    was reported before the payment (and before the split: nobody knows the later ones)."""
    count, _ = window_before(raw.merchant, raw.ts, np.ones(len(raw.ts)), window_ms)
    frauds = np.zeros(len(raw.ts))
    for m in np.unique(raw.merchant):
        mine = np.flatnonzero(raw.merchant == m)
        known = mine[np.isfinite(raw.chargeback_ts[mine])]
        if len(known) == 0:
            continue
        t = raw.ts[mine][:, None]
        inside = (raw.ts[known][None, :] >= t - window_ms) & (raw.ts[known][None, :] < t)
        frauds[mine] = (inside & (raw.chargeback_ts[known][None, :] < t)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, frauds / count, np.nan)


def hand_made_features(raw: Raw) -> tuple[list[str], np.ndarray]:
    """The textbook features, point-in-time (each from what came before the payment)."""
    columns: dict[str, np.ndarray] = {"amount_log": np.log1p(raw.amount)}
    for days in WINDOWS_DAYS:
        count, spend = window_before(raw.customer, raw.ts, raw.amount, days * DAY_MS)
        columns[f"customer_count_{days}d"] = count
        columns[f"customer_spend_{days}d_log"] = np.log1p(spend)
        if days == 30:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, spend / count, np.nan)
            columns["amount_to_customer_mean_30d_log"] = np.log(raw.amount / mean)
    for days in WINDOWS_DAYS:
        columns[f"merchant_fraud_rate_{days}d"] = merchant_fraud_rate(raw, days * DAY_MS)
    columns["card_hours_since_first_seen_log"] = np.log1p(hours_since_first_seen(raw.card, raw.ts))
    columns["device_hours_since_first_seen_log"] = np.log1p(
        hours_since_first_seen(raw.device, raw.ts)
    )
    angle = 2 * np.pi * raw.local_hour / 24
    columns["hour_sin"], columns["hour_cos"] = np.sin(angle), np.cos(angle)
    for channel in sorted(set(raw.channel)):
        columns[f"channel_{channel}"] = np.array([float(c == channel) for c in raw.channel])
    names = list(columns)
    return names, np.column_stack([columns[n] for n in names])


def baseline_labels(raw: Raw, split_ms: int, maturity_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows to train on, their labels) as known at the split: the payments older than the
    maturity window, fraud if a chargeback was reported by the split, else legit.

    The younger payments are left out, frauds too: keeping their known frauds without their
    legit payments would make "recent" itself look like fraud (card age, filled windows).
    """
    rows = raw.ts < split_ms - maturity_days * DAY_MS
    return rows, np.isfinite(raw.chargeback_ts[rows]).astype(np.int8)


@dataclass(frozen=True)
class Baselines:
    logistic: np.ndarray  # scores of the live payments
    lightgbm: np.ndarray
    features: list[str]
    train_rows: int
    train_frauds: int


def baselines_fit(raw: Raw, split: datetime, args: argparse.Namespace) -> Baselines:
    names, x = hand_made_features(raw)
    split_ms = round(split.timestamp() * 1000)
    rows, y = baseline_labels(raw, split_ms, args.maturity_days)
    live = raw.ts >= split_ms
    logistic = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    logistic.fit(x[rows], y)
    params: dict[str, Any] = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": args.seed,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }
    booster = lightgbm.train(
        params, lightgbm.Dataset(x[rows], y, feature_name=names), num_boost_round=300
    )
    return Baselines(
        logistic=logistic.predict_proba(x[live])[:, 1],
        lightgbm=np.asarray(booster.predict(x[live])),
        features=names,
        train_rows=int(rows.sum()),
        train_frauds=int(y.sum()),
    )
