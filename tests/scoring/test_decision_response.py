"""The decision API answers with ``responses.decision_out``: exactly what the documented
``DecisionOutSerializer`` produces, field for field and type for type."""

import json
import uuid

import pytest

from scoring.models import Decision, Transaction
from scoring.responses import decision_out
from scoring.serializers import DecisionOutSerializer
from tests import factories


def _typed(value: object) -> object:
    """A value with the type of each part kept, so that 1 and 1.0 (or "1") differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _serialized(decision: Decision) -> object:
    return _typed(json.loads(json.dumps(DecisionOutSerializer(decision).data)))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "outcome"), [(None, "approve"), ("review", "review"), ("decline", "decline")]
)
def test_the_api_answers_what_the_serializer_produces(api, action, outcome):
    if action is not None:
        factories.rule("big", "amount > 20", action, description="Large amount")

    response = api.post("/api/v1/decisions", factories.payload(), format="json")

    assert response.status_code == 201
    decision = Decision.objects.select_related("transaction").get(pk=response.json()["decision_id"])
    assert decision.outcome == outcome
    assert _typed(response.json()) == _serialized(decision)


@pytest.mark.django_db
def test_a_retry_answers_what_the_serializer_produces(api):
    factories.rule("big", "amount > 20", "review", description="Large amount")
    body = factories.payload()
    api.post("/api/v1/decisions", body, format="json")

    again = api.post("/api/v1/decisions", body, format="json")

    assert again.status_code == 200
    decision = Decision.objects.get(pk=again.json()["decision_id"])
    assert _typed(again.json()) == _serialized(decision)


def _scored_decision(**fields: object) -> Decision:
    """An unsaved decision a model scored, with a model reason and a rule that fired."""
    values: dict[str, object] = {
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "transaction": Transaction(transaction_id="t-scored"),
        "outcome": "review",
        "score": 0.73,
        "reasons": [
            {"code": "amount_high", "text": "Amount far above usual", "contribution": 0.41},
            {"code": "on_list", "text": "Card on a list", "contribution": None},
        ],
        "rules": [{"rule": "big", "version": 3, "action": "review", "expression": "amount > 1"}],
        "model_version": "lgbm-7",
        "degraded": True,
        "latency_ms": 4.125,
    }
    values.update(fields)
    return Decision(**values)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"score": None, "model_version": None, "reasons": [], "rules": [], "degraded": False},
        {"score": 1, "latency_ms": 2},  # integers as a float field holds them after a load
    ],
    ids=["scored", "rules-only", "integral-floats"],
)
def test_a_decision_renders_as_the_serializer_renders_it(fields):
    decision = _scored_decision(**fields)

    assert _typed(decision_out(decision)) == _typed(dict(DecisionOutSerializer(decision).data))
    assert _typed(json.loads(json.dumps(decision_out(decision)))) == _serialized(decision)
