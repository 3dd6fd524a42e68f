"""Prometheus metrics of the decision path (multi-process aware under gunicorn)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

DECISIONS = Counter("fraudops_decisions_total", "Decisions made", ["outcome"])
DEGRADED = Counter(
    "fraudops_decisions_degraded_total",
    "Decisions made without a part: the model, the feature store or the cold features",
)
LATENCY = Histogram(
    "fraudops_decision_latency_seconds",
    "Server time to decide, before the write",
    buckets=(0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

# 1 while this process reaches the dependency, 0 during an outage (scoring/outage.py). Under
# gunicorn the merged value is the lowest of the live workers': 0 if any of them is cut off.
DEPENDENCY_UP = Gauge(
    "fraudops_dependency_up",
    "Whether this process reaches the dependency (feature store, API-key cache, channel layer)",
    ["dependency"],
    multiprocess_mode="livemin",
)


# The latest drift check (scoring/drift.py), set from its stored report when /metrics is read:
# the check runs on a worker, the web process exports it. Every process reads the same
# report, so any one's value is the value.
DRIFT_PSI = Gauge(
    "fraudops_drift_psi",
    "PSI of each feature and of the score in the latest drift check "
    "(0.2 or more: shifted; 0.1 for the score)",
    ["feature"],
    multiprocess_mode="mostrecent",
)
DRIFT_ALERT = Gauge(
    "fraudops_drift_alert",
    "1 while the latest drift check's alert stands (the score or a top feature shifted, and "
    "the model it checked still decides), else 0",
    multiprocess_mode="mostrecent",
)


def drift_observed(psi: dict[str, float], *, alert: bool) -> None:
    for name, value in psi.items():
        DRIFT_PSI.labels(feature=name).set(value)
    DRIFT_ALERT.set(1 if alert else 0)


def dependency_up_set(name: str, *, up: bool) -> None:
    DEPENDENCY_UP.labels(dependency=name).set(1 if up else 0)


def decision_observed(outcome: str, latency_ms: float, *, degraded: bool) -> None:
    DECISIONS.labels(outcome=outcome).inc()
    LATENCY.observe(latency_ms / 1000)
    if degraded:
        DEGRADED.inc()


def exposition() -> tuple[bytes, str]:
    """The metrics text; merges every worker's when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.getenv("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
