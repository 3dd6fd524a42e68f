"""Personal data handling: card numbers are refused, e-mails are kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

# A run of digits in which any characters other than letters and digits may separate the
# digits ("4111 1111-1111.1111", "pan:4111111111111111"): how card numbers are written.
_DIGIT_RUN = re.compile(r"\d(?:[^0-9A-Za-z]{0,3}\d)*")
_DIGIT_GROUP = re.compile(r"\d+")
PAN_LENGTHS = range(12, 20)


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


def contains_pan(value: str) -> bool:
    """True when ``value`` holds a card number anywhere: 12–19 Luhn-valid digits, separators
    (anything but letters and digits) ignored.

    Within a run of separated digit groups, every span of whole groups is tried, so a card
    number followed by an expiry date ("4111 1111 1111 1111 12/27") is found too. A single
    unbroken string of more than 19 digits is not a card number.
    """
    for run in _DIGIT_RUN.finditer(value):
        groups = _DIGIT_GROUP.findall(run.group())
        for first in range(len(groups)):
            digits = ""
            for group in groups[first:]:
                digits += group
                if len(digits) > PAN_LENGTHS.stop - 1:
                    break
                if len(digits) in PAN_LENGTHS and luhn_valid(digits):
                    return True
    return False
