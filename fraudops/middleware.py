"""Django's session, authentication and messages middlewares, skipped on the integrators' API.

``/api/v1/`` authenticates each request with its API key (``scoring.auth``), keeps no session
and shows no messages. Loading a session, a lazy user and message storage there cost CPU on
every decision for nothing. Every other path (the admin, the workbench, the schema and its
docs) gets them exactly as before.

Django's own CSRF middleware stays as it is, though the API's views are exempt: ``check
--deploy`` looks for it by name, and would silently stop checking ``CSRF_COOKIE_SECURE``
behind a subclass. It costs the API little (an exempt view returns at once).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest

API_PREFIX = "/api/v1/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class _SkippedOnApi:
    """Pass an API request straight on; anything else goes through the middleware.

    Only the synchronous path (WSGI, how the API is served) skips: under ASGI the middleware
    runs as Django's own does, which is correct, only not trimmed.
    """

    get_response: Any
    async_mode: bool

    def __call__(self, request: HttpRequest) -> Any:
        if not self.async_mode and is_api(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class ApiSkippingSessionMiddleware(_SkippedOnApi, SessionMiddleware):
    pass


class ApiSkippingAuthenticationMiddleware(_SkippedOnApi, AuthenticationMiddleware):
    pass


class ApiSkippingMessageMiddleware(_SkippedOnApi, MessageMiddleware):
    pass
