"""The client's IP address, as login lockouts and the API-key throttle count it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_ip(request: HttpRequest | Request) -> str:
    """REMOTE_ADDR, or with ``NUM_PROXIES`` proxies in front, the address the outermost saw.

    X-Forwarded-For is read from the right: entries left of those our own proxies appended
    were written by the client and prove nothing.
    """
    proxies = settings.NUM_PROXIES
    if proxies > 0:
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            candidate = addresses[-min(proxies, len(addresses))]
            if _is_address(candidate):  # not "unknown" or "ip:port": the column is an inet
                return candidate
    return str(request.META.get("REMOTE_ADDR", ""))


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
