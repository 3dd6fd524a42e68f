"""Reading history files (CSV or Parquet) into validated imports: the file format of
``manage.py import_history`` (docs/import.md).

Every row is validated as the API validates a request (``TransactionInSerializer``,
``LabelInSerializer``): a column is a request field of the same name, an empty cell or a null
is an absent optional field. Every problem is collected, named by line (CSV: the header is
line 1) or row (Parquet: the first row is row 1) and field, and the whole file is refused.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.utils import timezone

from scoring.history_import import (
    HistoryImported,
    HistoryRefused,
    ImportedLabel,
    ImportedTransaction,
    RowProblem,
    history_import,
)
from scoring.models import Integrator
from scoring.pii import contains_pan
from scoring.serializers import LabelInSerializer, TransactionInSerializer
from scoring.transaction import decision_request_from

TRANSACTION_REQUIRED = (
    "transaction_id", "occurred_at", "amount", "currency", "customer_id", "merchant_id", "channel",
)  # fmt: skip
TRANSACTION_OPTIONAL = (
    "card_id", "merchant_category", "country", "ip", "device_id", "email", "payee_id", "metadata",
)  # fmt: skip
LABEL_REQUIRED = ("transaction_id", "label", "source")
LABEL_OPTIONAL = ("reported_at",)
FORMATS = (".csv", ".parquet")
PAN_QUOTED = "Refused; the value looks like a card number (PAN) and is not repeated here."


@dataclass(frozen=True)
class _Row:
    where: str
    values: dict[str, Any]


def history_files_import(
    *,
    integrator: Integrator,
    transactions: Path,
    labels: Path | None = None,
    progress: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
) -> HistoryImported:
    """Read, validate and import a transactions file and, optionally, a labels file.

    Raises :class:`HistoryRefused` (nothing written) listing every problem of both files.
    ``on_read`` gets the number of transactions once both files are valid.
    """
    problems: list[RowProblem] = []
    found, given = [], []
    try:
        found = transactions_read(transactions)
    except HistoryRefused as refused:
        problems += refused.problems
    try:
        given = [] if labels is None else labels_read(labels)
    except HistoryRefused as refused:
        problems += refused.problems
    if problems:
        raise HistoryRefused(problems)
    if on_read:
        on_read(len(found))
    return history_import(
        integrator=integrator, transactions=found, labels=given, progress=progress
    )


def transactions_read(path: Path) -> list[ImportedTransaction]:
    """The file's transactions, validated. Raises :class:`HistoryRefused`."""
    problems: list[RowProblem] = []
    found: list[ImportedTransaction] = []
    for row in _rows(path, TRANSACTION_REQUIRED, TRANSACTION_OPTIONAL):
        data = _with_metadata(row, problems) if _whole(row, problems) else None
        if data is None:
            continue
        serializer = TransactionInSerializer(data=data)
        if serializer.is_valid():
            found.append(
                ImportedTransaction(row.where, decision_request_from(serializer.validated_data))
            )
        else:
            problems += _problems(row.where, serializer.errors)
    if problems:
        raise HistoryRefused(problems)
    return found


def labels_read(path: Path) -> list[ImportedLabel]:
    """The file's labels, validated (without ``reported_at``: now, as the API). Raises
    :class:`HistoryRefused`."""
    problems: list[RowProblem] = []
    found: list[ImportedLabel] = []
    now = timezone.now()
    for row in _rows(path, LABEL_REQUIRED, LABEL_OPTIONAL):
        if not _whole(row, problems):
            continue
        serializer = LabelInSerializer(data=row.values)
        if serializer.is_valid():
            data = serializer.validated_data
            found.append(
                ImportedLabel(
                    row.where,
                    data["transaction_id"],
                    data["label"],
                    data["source"],
                    data.get("reported_at") or now,
                )
            )
        else:
            problems += _problems(row.where, serializer.errors)
    if problems:
        raise HistoryRefused(problems)
    return found


def _rows(path: Path, required: Sequence[str], optional: Sequence[str]) -> list[_Row]:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise HistoryRefused([RowProblem(path.name, "file", "Expected a .csv or .parquet file.")])
    try:
        columns, rows = _csv(path) if suffix == ".csv" else _parquet(path)
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException) as exc:
        raise HistoryRefused([RowProblem(path.name, "file", f"Cannot be read: {exc}")]) from None
    problems = [
        RowProblem(path.name, name, "Required column missing.")
        for name in required
        if name not in columns
    ]
    problems += [
        RowProblem(path.name, name, "Unknown column.")
        for name in columns
        if name not in required and name not in optional
    ]
    if len(set(columns)) != len(columns):
        problems.append(RowProblem(path.name, "header", "A column is named twice."))
    if problems:
        raise HistoryRefused(problems)
    return list(rows)


def _csv(path: Path) -> tuple[list[str], Iterator[_Row]]:
    with path.open(newline="", encoding="utf-8-sig") as file:  # a BOM (Excel) is not a column
        reader = csv.reader(file)
        header = next(reader, [])
        rows = [(reader.line_num, cells) for cells in reader]
    return header, _csv_rows(path.name, header, rows)


def _csv_rows(name: str, header: list[str], rows: list[tuple[int, list[str]]]) -> Iterator[_Row]:
    for line, cells in rows:
        where = f"{name} line {line}"
        if len(cells) != len(header):
            yield _Row(where, {"": f"has {len(cells)} cells, the header {len(header)}"})
            continue
        yield _Row(where, {k: v for k, v in zip(header, cells, strict=True) if v != ""})


def _parquet(path: Path) -> tuple[list[str], Iterator[_Row]]:
    table = pq.read_table(path)
    return table.column_names, (
        _Row(f"{path.name} row {i}", _plain(values))
        for i, values in enumerate(table.to_pylist(), start=1)
    )


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parquet's typed values as the API's JSON would carry them (null: absent)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if isinstance(value, datetime):
            # A naive timestamp stays naive: the serializer refuses it as the API does.
            value = value.isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        out[name] = value
    return out


def _whole(row: _Row, problems: list[RowProblem]) -> bool:
    """False (and said) for a CSV line with the wrong number of cells."""
    if "" in row.values:
        problems.append(RowProblem(row.where, "line", f"{row.values['']}."))
        return False
    return True


def _with_metadata(row: _Row, problems: list[RowProblem]) -> dict[str, Any] | None:
    """The row's values with ``metadata`` (a JSON object written as text) parsed."""
    data = dict(row.values)
    text = data.get("metadata")
    if isinstance(text, str):
        try:
            data["metadata"] = json.loads(text)
        except ValueError:
            problems.append(RowProblem(row.where, "metadata", "Not valid JSON."))
            return None
    return data


def _problems(where: str, errors: Mapping[str, Any]) -> list[RowProblem]:
    return [
        RowProblem(where, field, _unless_pan(" ".join(_texts(messages))))
        for field, messages in errors.items()
    ]


def _unless_pan(message: str) -> str:
    """A report is printed and logged: a message quoting a card number is not repeated."""
    return PAN_QUOTED if contains_pan(message) else message


def _texts(messages: Any) -> Iterator[str]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from (f"{key}: {text}" for text in _texts(value))
    elif isinstance(messages, list):
        for message in messages:
            yield from _texts(message)
    else:
        yield str(messages)
