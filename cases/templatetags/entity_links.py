"""``{{ value|entity_link:"kind" }}``: an id printed as a link to its entity's profile.

Kinds: customer, card, device, ip, email (the hash), merchant. An empty value prints "–".
Any template can load it (``{% load entity_links %}``): the queue, the case page, the profiles.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from cases.entities import ENTITY_COLUMNS, ENTITY_TITLES, entity_display

register = template.Library()


@register.filter
def entity_link(value: Any, kind: str) -> SafeString | str:
    if kind not in ENTITY_COLUMNS:
        raise template.TemplateSyntaxError(f"entity_link: unknown kind {kind!r}")
    if value is None or str(value).strip() == "":
        return "–"
    text = str(value)
    url = reverse("entities:profile", kwargs={"kind": kind, "value": text})
    return format_html(
        '<a class="entity" href="{}" title="{} {}">{}</a>',
        url,
        ENTITY_TITLES[kind],
        text,
        entity_display(kind, text),
    )


@register.filter
def entity_title(kind: str) -> str:
    """A kind's human name ("ip" → "IP address")."""
    return ENTITY_TITLES.get(kind, kind)
