"""Errors map to clear HTTP answers."""

from django.db import IntegrityError, OperationalError

from scoring.errors import api_exception_handler


def test_an_unreachable_database_is_a_503_that_invites_a_retry():
    response = api_exception_handler(OperationalError("connection refused"), {})

    assert response is not None
    assert response.status_code == 503
    assert response.data["code"] == "unavailable"
    assert "retry" in response.data["detail"]


def test_an_integrity_error_is_not_disguised_as_unavailability():
    assert api_exception_handler(IntegrityError("duplicate"), {}) is None
