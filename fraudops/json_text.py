"""JSON columns read as their text, to be parsed with orjson.

Django's ``JSONField`` parses every value with ``json.loads``: on the paths that read many
stored decisions (a backtest, the shadow fill) that was about a third of reading a row.
``as_text`` annotates a queryset's JSON fields cast to text (``<name>_text``); ``orjson.loads``
then parses each one several times faster.
"""

from __future__ import annotations

from django.db.models import TextField
from django.db.models.functions import Cast


def as_text(*names: str) -> dict[str, Cast]:
    """``queryset.annotate(**as_text("features"))`` adds ``features_text``, the JSON's text."""
    return {f"{name}_text": Cast(name, TextField()) for name in names}
