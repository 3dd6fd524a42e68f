from argparse import ArgumentTypeError
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scoring.lifecycle import ModelNotPromotable, model_promote
from scoring.training.dataset import NotEnoughLabels
from scoring.training.train import Metrics, model_train


def _moment(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None or timezone.is_naive(moment):
        raise ArgumentTypeError(f"not an ISO 8601 date and time with a time zone: {text!r}")
    if moment > timezone.now():
        raise ArgumentTypeError(f"{text} is in the future")
    return moment


def _figure(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


class Command(BaseCommand):
    help = "Train a LightGBM model on every labelled transaction; --promote makes it active."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--promote", action="store_true")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--as-of",
            type=_moment,
            default=None,
            help="Train as if at this past moment (ISO 8601 with a time zone): only the "
            "transactions and labels known then (default: now).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = model_train(
                seed=options["seed"], progress=self.stdout.write, now=options["as_of"]
            )
        except NotEnoughLabels as exc:
            raise CommandError(f"Not enough labels to train: {exc}") from exc
        version = result.version
        self.stdout.write(f"\nModel {version.name}: {version.params}")
        self._table(result.evaluation.values, version.trained_until.strftime("%Y-%m-%d"))
        for name, why in sorted(result.evaluation.not_computable.items()):
            self.stdout.write(f"  {name}: not computable, {why}")
        if options["promote"]:
            try:
                model_promote(version=version, actor=None, reason="train_model --promote")
            except ModelNotPromotable as exc:
                raise CommandError(f"{exc} (it is registered, inactive)") from exc
            self.stdout.write(f"Promoted {version.name}: live decisions use it within seconds.")

    def _table(self, m: Metrics, until: str) -> None:
        self.stdout.write(
            f"Validation window ({int(m['rows'] or 0)} rows, {int(m['fraud'] or 0)} fraud, "
            f"from {until} back):"
        )
        rows = [
            ("", "rules only", "model", "rules + model"),
            ("AUC ROC", _figure(m["rules_only_auc_roc"], ".3f"), _figure(m["auc_roc"], ".3f"), ""),
            (
                "average precision",
                _figure(m["rules_only_average_precision"], ".3f"),
                _figure(m["average_precision"], ".3f"),
                "",
            ),
            (
                f"recall at rules' rate ({_figure(m['rules_only_review_rate'], '.2%')})",
                _figure(m["rules_only_recall"], ".1%"),
                "",
                _figure(m["rules_plus_model_recall_at_rules_rate"], ".1%"),
            ),
            (
                "recall at 1% review rate",
                "",
                _figure(m["recall_at_1pct"], ".1%"),
                _figure(m["rules_plus_model_recall_at_1pct"], ".1%"),
            ),
        ]
        for row in rows:
            self.stdout.write(f"  {row[0]:<34}{row[1]:>12}{row[2]:>10}{row[3]:>15}")
