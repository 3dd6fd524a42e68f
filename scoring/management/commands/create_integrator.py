from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.integrators import integrator_create


class Command(BaseCommand):
    help = "Create an integrator and print its API key (shown this once only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = integrator_create(name=options["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Integrator {options['name']!r} created. API key (store it now):")
        self.stdout.write(issued.key)
