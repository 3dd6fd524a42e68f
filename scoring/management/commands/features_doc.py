from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from scoring.features.catalogue import docs_text
from scoring.features.definitions import FEATURE_NAMES
from scoring.transaction import RULE_FACTS

DOCS_PATH = Path(settings.BASE_DIR) / "docs" / "features.md"


def features_doc_text() -> str:
    """docs/features.md as the catalogue has it now."""
    return docs_text(FEATURE_NAMES, [name for name in RULE_FACTS if name not in FEATURE_NAMES])


class Command(BaseCommand):
    help = "Write docs/features.md from the feature catalogue."

    def handle(self, *args: Any, **options: Any) -> None:
        DOCS_PATH.write_text(features_doc_text())
        self.stdout.write(f"Wrote {DOCS_PATH}.")
