"""Request bodies sent with ``Transfer-Encoding: chunked`` (no Content-Length).

Django reads ``CONTENT_LENGTH`` bytes of a WSGI body, so without the header it reads none and
a valid decision request looked empty. Servers that de-chunk the body and mark its end
(``wsgi.input_terminated``: gunicorn, uWSGI) can be read to the end instead: this middleware
reads at most one byte more than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and hands Django a body of
known length, so an oversized body is still a 413.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_chunked_without_length(environ: dict[str, Any]) -> bool:
    return (
        not environ.get("CONTENT_LENGTH")
        and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        and bool(environ.get("wsgi.input_terminated"))
    )


def chunked_body_middleware(app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_chunked_without_length(environ):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            stream = environ["wsgi.input"]
            body = stream.read() if limit is None else stream.read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return application
