"""Personal data handling: card numbers are refused, e-mails are kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

_SEPARATORS = re.compile(r"[ -]")


def keyed_hash(value: str, key: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def email_normalize(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the normalised address with ``settings.PII_HASH_KEY``."""
    return keyed_hash(email_normalize(email), settings.PII_HASH_KEY)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_pan(value: str) -> bool:
    """True for a 12–19 digit Luhn-valid number (spaces and dashes ignored): a card number."""
    digits = _SEPARATORS.sub("", value)
    return digits.isdigit() and 12 <= len(digits) <= 19 and luhn_valid(digits)
