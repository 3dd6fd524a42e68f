"""CSV cells that a spreadsheet shows as text and never runs as a formula (OWASP CSV
injection): every CSV the product writes passes its rows through :func:`csv_row_safe`."""

from __future__ import annotations

# Excel, LibreOffice and Google Sheets start a formula (or a DDE call) with any of these,
# also after a leading tab or carriage return.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell_safe(value: object) -> object:
    """The value for a CSV cell: text that a spreadsheet would evaluate gets a leading ``'``.

    Numbers, dates and None pass unchanged (we render them, they cannot hold a formula), so
    an amount stays a number; text comes from integrators and analysts, so it is not trusted.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_row_safe(values: list[object]) -> list[object]:
    return [csv_cell_safe(value) for value in values]
