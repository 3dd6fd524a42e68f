"""Floor endpoints for ``bench/decisions.py``: the least a decision request can cost.

Mounted only when ``BENCH_FLOOR_ENDPOINTS`` is set (the benchmark's own server). Both use the
decision API's authentication, parsers and request serializer, so the decision endpoint's cost
above them is what deciding adds: the idempotency pre-check, features, rules, the full record
and the response.

- ``validate``: authenticate and validate, nothing else.
- ``write``: the same, then store a transaction and a bare decision in one database transaction.
- ``lean``: the least a Django decision endpoint can cost, and the one every figure is compared
  with: no authentication, a plain DRF serializer of eight fields, and two rows inserted with
  plain SQL into two small tables of the bench's own (``bench.lean_sql``, created by the bench, not
  by a migration) in one transaction. The request body is a decision's; unknown fields are
  ignored.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.urls import URLPattern, path
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.lean_sql import LEAN_DECISION_INSERT, LEAN_FIELDS, LEAN_PAYMENT_INSERT
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


class LeanInSerializer(serializers.Serializer[Any]):
    transaction_id = serializers.CharField(max_length=64)
    occurred_at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    customer_id = serializers.CharField(max_length=64)
    merchant_id = serializers.CharField(max_length=64)
    channel = serializers.ChoiceField(choices=["ecom", "pos", "atm", "wallet", "transfer"])
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, default="")


class FloorLeanApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)

    def post(self, request: Request) -> Response:
        serializer = LeanInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(LEAN_PAYMENT_INSERT, [data[name] for name in LEAN_FIELDS])
            payment_id = cursor.fetchone()[0]
            cursor.execute(LEAN_DECISION_INSERT, [payment_id, "approve"])
            decision_id = cursor.fetchone()[0]
        return Response(
            {"decision_id": decision_id, "transaction_id": data["transaction_id"]},
            status=status.HTTP_201_CREATED,
        )


urlpatterns: list[URLPattern] = [
    path("bench/floor/lean", FloorLeanApi.as_view(), name="bench-floor-lean"),
    path("bench/floor/validate", FloorValidateApi.as_view(), name="bench-floor-validate"),
    path("bench/floor/write", FloorWriteApi.as_view(), name="bench-floor-write"),
]
