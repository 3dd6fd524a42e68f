"""Run the drift loop on this (empty) database and print both AP figures (see
scoring/simulation/drift_loop.py; ``bench/drift_loop.py`` runs it on a throwaway database)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.models import Transaction
from scoring.simulation.drift_loop import drift_loop_run


class Command(BaseCommand):
    help = (
        "On an empty database: simulate a history whose fraud changes pattern, train a "
        "champion before the drift, check drift after it, retrain, and print both APs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--customers", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        if Transaction.objects.exists():
            raise CommandError(
                "drift_loop writes a history of its own: run it on an empty database"
            )
        started = time.monotonic()
        loop = drift_loop_run(
            seed=options["seed"], customers=options["customers"], say=self.stdout.write
        )
        holdout = loop.challenger.metrics["champion_on_holdout"]
        self.stdout.write(
            f"post-drift holdout: {holdout.get('rows')} transactions, "
            f"{holdout.get('fraud')} fraud\n"
            f"  stale champion {loop.champion.name}: AP {loop.champion_ap:.3f}\n"
            f"  retrained challenger {loop.challenger.name}: AP {loop.challenger_ap:.3f}\n"
            f"drift alerts: {', '.join(loop.report.alerts) or 'none'} "
            f"(score PSI {loop.report.psi['score']:.2f}); {time.monotonic() - started:.0f} s"
        )
