"""Floor endpoints for ``bench/decisions.py``: the least a decision request can cost.

Mounted only when ``BENCH_FLOOR_ENDPOINTS`` is set (the benchmark's own server). Both use the
decision API's authentication, parsers and request serializer, so the decision endpoint's cost
above them is what deciding adds: the idempotency pre-check, features, rules, the full record
and the response.

- ``validate``: authenticate and validate, nothing else.
- ``write``: the same, then store a transaction and a bare decision in one database transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import URLPattern, path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scoring.api import DecisionCreateApi
from scoring.models import Decision, Integrator, Outcome
from scoring.serializers import TransactionInSerializer
from scoring.transaction import decision_request_from
from scoring.transaction_rows import transaction_row


def _validated(request: Request) -> dict[str, Any]:
    serializer = TransactionInSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data: dict[str, Any] = serializer.validated_data
    return data


class FloorValidateApi(APIView):
    parser_classes = DecisionCreateApi.parser_classes

    def post(self, request: Request) -> Response:
        data = _validated(request)
        return Response({"transaction_id": data["transaction_id"]}, status=status.HTTP_201_CREATED)


class FloorWriteApi(APIView):
    parser_classes = DecisionCreateApi.parser_classes

    def post(self, request: Request) -> Response:
        data = _validated(request)
        integrator = request.user
        assert isinstance(integrator, Integrator)
        with transaction.atomic():
            # The same transaction row a decision stores, and a bare decision row.
            txn = transaction_row(integrator, decision_request_from(data), "floor")
            txn.save()
            decision = Decision.objects.create(
                transaction=txn, outcome=Outcome.APPROVE, policy_revision=0, latency_ms=0
            )
        return Response(
            {"decision_id": str(decision.pk), "transaction_id": txn.transaction_id},
            status=status.HTTP_201_CREATED,
        )


urlpatterns: list[URLPattern] = [
    path("bench/floor/validate", FloorValidateApi.as_view(), name="bench-floor-validate"),
    path("bench/floor/write", FloorWriteApi.as_view(), name="bench-floor-write"),
]
