"""What drf-spectacular cannot infer: request bodies refuse fields they do not declare."""

from __future__ import annotations

from typing import Any

from scoring.serializers import StrictSerializer


def _strict_component_names() -> set[str]:
    pending, names = [StrictSerializer], set()
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        names.add(cls.__name__.removesuffix("Serializer"))
    return names


def strict_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: ``additionalProperties: false`` on every StrictSerializer body,
    which answers 400 for an unknown field."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in _strict_component_names() & schemas.keys():
        schemas[name]["additionalProperties"] = False
    return result
