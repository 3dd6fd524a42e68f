"""API errors and their JSON shape.

Every error body is ``{"code": ..., "detail": ..., "fields": {field: [reason, ...]}}``
(``fields`` only for validation errors). The hierarchy::

    DecisionError
    ├── IdempotencyConflict   same transaction_id, different body → 409
    └── TransactionNotFound   a label for a transaction we never decided → 404

A database that cannot be reached gives 503 (nothing stored; retrying is safe).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DecisionError(Exception):
    """Base of the scoring services' errors."""


class IdempotencyConflict(DecisionError):
    def __init__(self, transaction_id: str) -> None:
        super().__init__(
            f"Transaction {transaction_id!r} was already decided with a different request body."
        )


class TransactionNotFound(DecisionError):
    def __init__(self, transaction_id: str) -> None:
        super().__init__(f"No transaction {transaction_id!r} was decided for this integrator.")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is larger than 64 KB."
    default_code = "payload_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The decision store is unavailable; retry with the same transaction_id."
    default_code = "unavailable"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


logger = logging.getLogger(__name__)

_DOMAIN_ERRORS: dict[type[DecisionError], type[exceptions.APIException]] = {
    IdempotencyConflict: Conflict,
    TransactionNotFound: exceptions.NotFound,
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError | DataError):
        # The database is down or overloaded: nothing was stored, and a retry is safe.
        logger.error("database unavailable: %s", exc)
        exc = ServiceUnavailable()
    for domain, api in _DOMAIN_ERRORS.items():
        if isinstance(exc, domain):
            exc = api(str(exc))
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": "invalid", "detail": "Invalid request.", "fields": fields}
    else:
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else exc.default_code,
            "detail": str(exc.detail),
        }
    return response
