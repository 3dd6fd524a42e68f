"""The queue export as CSV, with cells that a spreadsheet shows as text and never runs as a
formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from cases.models import Case
from fraudops.csv_cells import csv_row_safe

QUEUE_EXPORT_HEADER = [
    "case", "status", "priority", "sla_due_at", "assignee", "transaction_id", "customer_id",
    "amount", "currency", "outcome", "score", "created_at",
]  # fmt: skip


def queue_export_row(case: Case) -> list[object]:
    """One case as a line of the queue export (in the order of ``QUEUE_EXPORT_HEADER``),
    neutralised. The case must come with its decision, transaction and assignee loaded."""
    txn = case.decision.transaction
    return csv_row_safe([
        case.pk, case.status, case.priority, case.sla_due_at.isoformat(),
        case.assignee.get_username() if case.assignee else "", txn.transaction_id,
        txn.customer_id, txn.amount, txn.currency, case.decision.outcome,
        case.decision.score, case.created_at.isoformat(),
    ])  # fmt: skip


class _Echo:
    """A file that hands back what is written: csv.writer then returns each line as text."""

    def write(self, value: str) -> str:
        return value


def queue_export_lines(cases: Iterable[Case]) -> Iterator[str]:
    """The queue export as CSV text, line by line (the header first), for a streamed
    response: the cases are read as the lines are sent."""
    writer = csv.writer(_Echo())
    yield writer.writerow(QUEUE_EXPORT_HEADER)
    for case in cases:
        yield writer.writerow(queue_export_row(case))
