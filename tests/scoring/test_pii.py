"""Card numbers are found in any spelling, and only real ones."""

import random
import time
import uuid

import pytest

from scoring.pii import contains_pan


@pytest.mark.parametrize(
    "value",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111.1111.1111.1111",
        "pan:4111111111111111",
        "card=4111/1111/1111/1111;",
        "4111 1111 1111 1111 12/27",
        "378282246310005",  # Amex, 15 digits
        "3782 822463 10005",
        "6011 0009 9013 9424",
        "5555555555554444",  # Mastercard
        "2223003122003222",  # Mastercard, 2-series
        "3530111333300000",  # JCB
        "4222222222222",  # Visa, 13 digits
    ],
)
def test_a_card_number_is_found_whatever_separates_its_digits(value):
    assert contains_pan(value)


@pytest.mark.parametrize(
    "value",
    [
        "4111111111111112",  # fails the Luhn check
        "cust-42",
        "41111111111",  # 11 digits
        "12345678901234567890123",  # one unbroken run longer than any card number
        "tok_9f3a4111",
        "",
        "merchant-000000000000",  # Luhn-valid zeros, no issuer
        "1764583200123",  # a millisecond timestamp
        "2026-12-01 10:15:00",
        "+49 30 12345678",
        "ord-100000000000000009",  # 18 digits, Luhn-valid, no issuer's range
        "4111111111111111111111",  # a Visa prefix in a string of 22 digits
        "a6094f1e4111111111111111e9692",  # digits run together with letters: a hex token
    ],
)
def test_other_values_are_not_card_numbers(value):
    assert not contains_pan(value)


def test_ordinary_numeric_ids_are_almost_never_taken_for_card_numbers():
    # One in ten random numbers passes the Luhn check; the issuers' ranges and lengths and the
    # usual layouts must keep order ids, timestamps and dates from being refused.
    rng = random.Random(5)
    ids = [f"ord-{rng.randrange(10**17, 10**18)}" for _ in range(5000)]
    stamps = [str(rng.randrange(1_600_000_000_000, 1_900_000_000_000)) for _ in range(5000)]
    dates = [
        f"2026-{rng.randrange(1, 13):02}-{rng.randrange(1, 29):02} "
        f"{rng.randrange(24):02}:{rng.randrange(60):02}:{rng.randrange(60):02}"
        for _ in range(5000)
    ]

    # 18-digit numbers in the ranges of issuers that use that length (Maestro, UnionPay,
    # Discover, JCB, Diners) cannot be told from card numbers: about 1% of random ones.
    hex_ids = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(20000)]
    assert sum(map(contains_pan, ids)) < len(ids) * 0.02
    assert sum(map(contains_pan, stamps)) == 0
    assert sum(map(contains_pan, dates)) == 0
    assert sum(map(contains_pan, hex_ids)) == 0


def test_a_long_value_is_checked_in_linear_time():
    started = time.perf_counter()
    contains_pan("1 " * 30_000)
    assert time.perf_counter() - started < 0.5
