"""Card numbers are found in any spelling, and only real ones."""

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
        "6011 0009 9013 9424",
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
    ],
)
def test_other_values_are_not_card_numbers(value):
    assert not contains_pan(value)
