"""The decision API's answer, built as a plain dict.

``DecisionOutSerializer`` documents the shape (the OpenAPI schema is generated from it); this
builds the same fields directly, because instantiating the serializer (its fields deep-copied,
each value passed through a field object) cost more CPU per decision than the rest of
rendering. ``tests/scoring/test_decision_response.py`` holds the two equal, field for field.
"""

from __future__ import annotations

from typing import TypedDict

from scoring.models import Decision


class ReasonOut(TypedDict):
    code: str
    text: str
    contribution: float | None


class RuleFiredOut(TypedDict):
    rule: str
    version: int
    action: str


class DecisionOut(TypedDict):
    decision_id: str
    transaction_id: str
    outcome: str
    score: float | None
    reasons: list[ReasonOut]
    rules: list[RuleFiredOut]
    model_version: str | None
    degraded: bool
    latency_ms: float


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def decision_out(decision: Decision) -> DecisionOut:
    """What ``DecisionOutSerializer(decision).data`` holds, with the same types."""
    return {
        "decision_id": str(decision.pk),
        "transaction_id": str(decision.transaction.transaction_id),
        "outcome": str(decision.outcome),
        "score": _float_or_none(decision.score),
        "reasons": [
            {
                "code": str(r["code"]),
                "text": str(r["text"]),
                "contribution": _float_or_none(r.get("contribution")),
            }
            for r in decision.reasons
        ],
        "rules": [
            {"rule": str(r["rule"]), "version": int(r["version"]), "action": str(r["action"])}
            for r in decision.rules
        ],
        "model_version": None if decision.model_version is None else str(decision.model_version),
        "degraded": bool(decision.degraded),
        "latency_ms": float(decision.latency_ms),
    }
