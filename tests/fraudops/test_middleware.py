"""Session, authentication and messages middlewares skip the integrators' API only; CSRF
protection holds on every other page."""

import json

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from fraudops.middleware import (
    ApiSkippingAuthenticationMiddleware,
    ApiSkippingMessageMiddleware,
    ApiSkippingSessionMiddleware,
)
from tests import factories

PASSWORD = "pw-" + "x" * 8

# What each middleware puts on the request it handles.
ADDS = [
    (ApiSkippingSessionMiddleware, "session"),
    (ApiSkippingAuthenticationMiddleware, "user"),
    (ApiSkippingMessageMiddleware, "_messages"),
]


def _seen_by_view(middleware: type, path: str) -> tuple[HttpRequest, list[HttpRequest]]:
    """The request after ``middleware`` and its view, and the requests the view received."""
    request = RequestFactory().get(path)
    if middleware is not ApiSkippingSessionMiddleware:
        # What the session middleware before it in settings.MIDDLEWARE would have added.
        request.session = ApiSkippingSessionMiddleware(HttpResponse).SessionStore()
    received: list[HttpRequest] = []

    def view(r: HttpRequest) -> HttpResponse:
        received.append(r)
        return HttpResponse()

    middleware(view)(request)
    return request, received


@pytest.mark.parametrize(("middleware", "attribute"), ADDS)
def test_an_api_request_passes_through_untouched(middleware, attribute):
    request, received = _seen_by_view(middleware, "/api/v1/decisions/x")

    assert received == [request]
    assert not hasattr(request, attribute)


@pytest.mark.parametrize(("middleware", "attribute"), ADDS)
def test_any_other_request_gets_what_the_middleware_adds(middleware, attribute):
    request, received = _seen_by_view(middleware, "/cases/")

    assert received == [request]
    assert hasattr(request, attribute)


@pytest.mark.django_db
def test_a_decision_sets_no_cookie_and_needs_no_csrf_token():
    issued = factories.integrator("acme")
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/v1/decisions",
        json.dumps(factories.payload()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {issued.key}",
    )

    assert response.status_code == 201
    assert not response.cookies
    assert "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.django_db
def test_the_workbench_login_still_refuses_a_post_without_its_csrf_token():
    factories.user("lena", "lead", password=PASSWORD)
    client = Client(enforce_csrf_checks=True)

    refused = client.post("/accounts/login/", {"username": "lena", "password": PASSWORD})
    form = client.get("/accounts/login/")
    token = form.cookies["csrftoken"].value
    signed_in = client.post(
        "/accounts/login/",
        {"username": "lena", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert refused.status_code == 403
    assert signed_in.status_code == 302
    assert "sessionid" in signed_in.cookies
