"""Personal data handling: card numbers are refused, e-mails are kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

# Digit groups joined by single separators, as card numbers are written ("4111 1111 1111 1111",
# "4111.1111…", "3782-822463-10005", "pan:4111…"), standing apart: digits run together with
# letters are part of a token (a hex id such as a UUID without dashes), not a number.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d+(?:[ ./_-]\d+)*(?![0-9A-Za-z])")
_GROUP_SEPARATOR = re.compile(r"[ ./_-]")

# Issuer ranges (ISO/IEC 7812 IINs) and the lengths of their card numbers. A number outside
# them is not a payment card, which keeps ordinary numeric ids (timestamps, order numbers,
# phone numbers) from being taken for one: the Luhn check alone passes one in ten of those.
_ANY = frozenset(range(12, 20))
_ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("300", "305", frozenset(range(14, 20))),  # Diners Club
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(14, 20))),
    ("6011", "6011", frozenset(range(16, 20))),  # Discover
    ("644", "649", frozenset(range(16, 20))),
    ("65", "65", frozenset(range(16, 20))),
    ("62", "62", frozenset(range(16, 20))),  # UnionPay
    ("3528", "3589", frozenset(range(16, 20))),  # JCB
    ("2200", "2204", frozenset(range(16, 20))),  # Mir
    ("50", "50", _ANY),  # Maestro
    ("56", "58", _ANY),
    ("639", "639", _ANY),
    ("67", "67", _ANY),
)
# How grouped card numbers are laid out: 4-4-4-4 (with 1-3 more digits for 17-19), 4-6-5
# (American Express), 4-6-4 (Diners Club), 4-4-4-1 (13-digit Visa).
_LAYOUTS: tuple[tuple[int, ...], ...] = (
    (4, 4, 4, 4),
    (4, 4, 4, 4, 1),
    (4, 4, 4, 4, 2),
    (4, 4, 4, 4, 3),
    (4, 6, 5),
    (4, 6, 4),
    (4, 4, 4, 1),
)


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


def is_card_number(digits: str) -> bool:
    """An issuer's range and length, and the Luhn check digit."""
    return any(
        len(digits) in lengths and low <= digits[: len(low)] <= high
        for low, high, lengths in _ISSUERS
    ) and luhn_valid(digits)


def _candidates(groups: list[str]) -> list[str]:
    """Each group on its own, and every run of groups laid out as a card number is written."""
    found = [group for group in groups if len(group) in _ANY]
    sizes = [len(group) for group in groups]
    for first, size in enumerate(sizes):
        if size != 4:  # every layout starts with four digits
            continue
        for layout in _LAYOUTS:
            if tuple(sizes[first : first + len(layout)]) == layout:
                found.append("".join(groups[first : first + len(layout)]))
    return found


def contains_pan(value: str) -> bool:
    """True when ``value`` holds a payment card number: an issuer's range and length, Luhn
    valid, written unbroken or in the usual groups ("4111 1111 1111 1111", "4111.1111…",
    "pan:4111111111111111", also followed by an expiry date)."""
    for run in _DIGIT_RUN.finditer(value):
        groups = _GROUP_SEPARATOR.split(run.group())
        if any(is_card_number(digits) for digits in _candidates(groups)):
            return True
    return False
