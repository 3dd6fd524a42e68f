"""`manage.py check --deploy` refuses the public development PII key (Django checks SECRET_KEY)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def pii_hash_key_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.PII_HASH_KEY == settings.DEV_PII_HASH_KEY or len(settings.PII_HASH_KEY) < 32:
        return [
            checks.Warning(
                "PII_HASH_KEY is the public development value or shorter than 32 characters: "
                "anyone can recompute the stored e-mail hashes.",
                hint="Set PII_HASH_KEY to a long random value before the first e-mail is stored.",
                id="fraudops.W001",
            )
        ]
    return []
