"""manage.py import_history: load past transactions and their labels from CSV or Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)
from tqdm import tqdm

from scoring.history_files import history_files_import
from scoring.history_import import HistoryRefused
from scoring.models import Integrator

PROBLEMS_SHOWN = 50

HELP = """\
Import past transactions (and their labels) for an integrator from CSV or Parquet: each
transaction is validated like an API request and decided as POST /api/v1/decisions would have
decided it on time (the features of its own moment, the cold ones of its own period); the
rows may come in any order. All or nothing: a file with any bad row is refused, every problem
listed by line (CSV, header = line 1) or row (Parquet) and field, and nothing is written.

Transactions file, one row per payment; columns named as the API's fields:
  required: transaction_id, occurred_at (ISO 8601 with offset, or a tz-aware Parquet
            timestamp), amount (text or number), currency (ISO 4217), customer_id,
            merchant_id, channel (pos|ecom|wallet|transfer|atm)
  optional: card_id, merchant_category, country (ISO 3166-1 alpha-2), ip, device_id, email,
            payee_id, metadata (a JSON object, as text)
  An optional column may be left out; an empty cell (or null) is an absent field.
Labels file (--labels): transaction_id (in this import or already stored), label
  (fraud|legit), source (chargeback|integrator), reported_at (optional: now).
See docs/import.md.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # The help's format description keeps its lines.
        kwargs["formatter_class"] = _RawHelp
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "transactions", type=Path, help="The transactions file (.csv, .parquet)."
        )
        parser.add_argument("--labels", type=Path, help="A labels file (.csv, .parquet).")
        parser.add_argument("--integrator", required=True, help="The integrator's name.")

    def handle(self, *args: Any, **options: Any) -> None:
        integrator = Integrator.objects.filter(name=options["integrator"]).first()
        if integrator is None:
            raise CommandError(f"No integrator named {options['integrator']!r}.")
        bar = tqdm(total=0, unit=" txn", disable=options["verbosity"] == 0)
        try:
            imported = history_files_import(
                integrator=integrator,
                transactions=options["transactions"],
                labels=options["labels"],
                on_read=lambda n: bar.reset(total=n),
                progress=bar.update,
            )
        except HistoryRefused as refused:
            raise CommandError(_report(refused)) from None
        finally:
            bar.close()
        self.stdout.write(
            f"Imported {imported.transactions} transactions and {imported.labels} labels "
            f"in {imported.seconds:.1f} s."
        )


class _RawHelp(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _report(refused: HistoryRefused) -> str:
    lines = [f"Nothing was imported: {len(refused.problems)} problem(s)."]
    lines += [f"  {problem}" for problem in refused.problems[:PROBLEMS_SHOWN]]
    if len(refused.problems) > PROBLEMS_SHOWN:
        lines.append(f"  … and {len(refused.problems) - PROBLEMS_SHOWN} more.")
    return "\n".join(lines)
