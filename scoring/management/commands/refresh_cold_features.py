"""Publish the cold-feature generation now (what the beat task does every period)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from scoring import serving
from scoring.cold_refresh import cold_features_refresh


class Command(BaseCommand):
    help = "Compute the cold (batch) features as of this period's start and publish them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="even if already published")

    def handle(self, *args: Any, **options: Any) -> None:
        refreshed = cold_features_refresh(store=serving.feature_store(), force=options["force"])
        if refreshed.skipped:
            self.stdout.write(f"Generation {refreshed.as_of.isoformat()} is already published.")
        else:
            self.stdout.write(
                f"Published {refreshed.entries} entries as of {refreshed.as_of.isoformat()} "
                f"in {refreshed.seconds:.1f} s."
            )
