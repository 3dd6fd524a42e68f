"""``{{ name|feature_label }}`` and ``{{ names|feature_labels }}``: features as a person reads
them (the catalogue's labels), for pages that hold feature names, such as the drift banner.

Labels may hold commas ("Merchant fraud rate, last 7 days"), so a list is joined with " · ".
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from scoring.features.catalogue import feature_label as _label

register = template.Library()

SEPARATOR = " · "


@register.filter
def feature_label(name: str) -> str:
    return _label(str(name))


@register.filter
def feature_labels(names: Iterable[str]) -> str:
    return SEPARATOR.join(_label(str(name)) for name in names)
