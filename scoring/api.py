"""The integrators' REST API: thin views that parse, call one service or selector, render."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scoring import decisions, labels, metrics
from scoring.models import Integrator
from scoring.responses import decision_out
from scoring.selectors import decision_get, drift_alert_standing, drift_report_latest
from scoring.serializers import (
    DecisionOutSerializer,
    DecisionRecordSerializer,
    ErrorSerializer,
    LabelInSerializer,
    LabelOutSerializer,
    TransactionInSerializer,
    ValidationErrorSerializer,
)
from scoring.transaction import decision_request_from


class BoundedJSONParser(JSONParser):
    """JSON whose nesting Python cannot follow (thousands of brackets in a few KB) is a 400,
    not a RecursionError."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class JSONBodyParser(BoundedJSONParser):
    """Reads every body as JSON, whatever its Content-Type: a body that is not JSON gets a
    400 saying why, rather than a 415 that leaves an integrator guessing. The schema documents
    ``application/json`` only."""

    media_type = "*/*"


_ERRORS: Mapping[int, OpenApiResponse] = {
    400: OpenApiResponse(ValidationErrorSerializer, "Invalid request: see `fields`."),
    401: OpenApiResponse(ErrorSerializer, "Missing, invalid or revoked API key."),
    404: OpenApiResponse(ErrorSerializer, "No such transaction or decision."),
    409: OpenApiResponse(ErrorSerializer, "Transaction id already used with another body."),
    413: OpenApiResponse(ErrorSerializer, "Body over 64 KB."),
    429: OpenApiResponse(ErrorSerializer, "Too many failed authentications; see Retry-After."),
    503: OpenApiResponse(
        ErrorSerializer, "The database or a dependency is unavailable; retry the same request."
    ),
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: _ERRORS[code] for code in codes}


def _integrator(request: Request) -> Integrator:
    assert isinstance(request.user, Integrator)
    return request.user


class DecisionCreateApi(APIView):
    parser_classes = [BoundedJSONParser, JSONBodyParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.started = time.perf_counter()
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="decisions_create",
        request={"application/json": TransactionInSerializer},
        responses={
            201: DecisionOutSerializer,
            200: OpenApiResponse(DecisionOutSerializer, "A retry: the stored decision."),
            **_errors(400, 401, 409, 413, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = TransactionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = decisions.decision_create(
            integrator=_integrator(request),
            request=decision_request_from(serializer.validated_data),
            started=self.started,
        )
        body = decision_out(created.decision)
        if created.replayed:
            return Response(
                body, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"}
            )
        return Response(body, status=status.HTTP_201_CREATED)


class DecisionDetailApi(APIView):
    @extend_schema(
        operation_id="decisions_retrieve",
        parameters=[OpenApiParameter("decision_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: DecisionRecordSerializer, **_errors(401, 404, 429, 503)},
    )
    def get(self, request: Request, decision_id: str) -> Response:
        # Matched as any string, so that a malformed id gets the API's JSON 404 rather than
        # Django's HTML page.
        try:
            parsed = uuid.UUID(decision_id)
        except ValueError:
            raise NotFound("No such decision.") from None
        decision = decision_get(integrator=_integrator(request), decision_id=parsed)
        if decision is None:
            raise NotFound("No such decision.")
        return Response(DecisionRecordSerializer(decision).data)


class LabelCreateApi(APIView):
    parser_classes = [BoundedJSONParser, JSONBodyParser]

    @extend_schema(
        operation_id="labels_create",
        request={"application/json": LabelInSerializer},
        responses={
            201: LabelOutSerializer,
            200: OpenApiResponse(
                LabelOutSerializer, description="The same label was already recorded (a retry)."
            ),
            **_errors(400, 401, 404, 413, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = LabelInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = labels.label_create(integrator=_integrator(request), **serializer.validated_data)
        if added.replayed:
            return Response(
                LabelOutSerializer(added.label).data,
                status=status.HTTP_200_OK,
                headers={"Idempotent-Replayed": "true"},
            )
        return Response(LabelOutSerializer(added.label).data, status=status.HTTP_201_CREATED)


def metrics_allowed(request: HttpRequest) -> bool:
    """Prometheus with ``Authorization: Bearer <METRICS_TOKEN>``, a staff user, or DEBUG.

    The figures (decision counts per outcome, latencies) tell an attacker how the fraud
    policy behaves, so an unset token closes the endpoint rather than opening it.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if settings.METRICS_TOKEN and scheme.lower() == "bearer":
        # Constant time: the comparison must not reveal how much of a guess was right.
        return hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())
    return bool(request.user.is_staff) or settings.DEBUG


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponseForbidden(
            "Metrics need 'Authorization: Bearer <METRICS_TOKEN>' or a staff login.\n",
            content_type="text/plain",
        )
    report = drift_report_latest()
    if report is not None:
        metrics.drift_observed(report.psi, alert=drift_alert_standing(report))
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
