from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.services import model_promote
from scoring.training.train import NotEnoughLabels, model_train


class Command(BaseCommand):
    help = "Train a LightGBM model on every labelled transaction; --promote makes it active."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--promote", action="store_true")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = model_train(seed=options["seed"], progress=self.stdout.write)
        except NotEnoughLabels as exc:
            raise CommandError(f"Not enough labels to train: {exc}") from exc
        m = result.metrics
        version = result.version
        self.stdout.write(f"\nModel {version.name}: {version.params}")
        self.stdout.write(
            f"Validation window ({int(m['rows'])} rows, {int(m['fraud'])} fraud, "
            f"from {version.trained_until:%Y-%m-%d} back):"
        )
        rows = [
            ("", "rules only", "model", "rules + model"),
            ("AUC ROC", f"{m['rules_only_auc_roc']:.3f}", f"{m['auc_roc']:.3f}", ""),
            (
                "average precision",
                f"{m['rules_only_average_precision']:.3f}",
                f"{m['average_precision']:.3f}",
                "",
            ),
            (
                f"recall at rules' rate ({m['rules_only_review_rate']:.2%})",
                f"{m['rules_only_recall']:.1%}",
                "",
                f"{m['rules_plus_model_recall_at_rules_rate']:.1%}",
            ),
            (
                "recall at 1% review rate",
                "",
                f"{m['recall_at_1pct']:.1%}",
                f"{m['rules_plus_model_recall_at_1pct']:.1%}",
            ),
        ]
        for row in rows:
            self.stdout.write(f"  {row[0]:<34}{row[1]:>12}{row[2]:>10}{row[3]:>15}")
        if options["promote"]:
            model_promote(version=version)
            self.stdout.write(f"Promoted {version.name}: live decisions use it within seconds.")
