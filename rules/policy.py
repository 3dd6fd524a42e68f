"""The policy a decision is made under (pure, no Django): outcomes, score thresholds, allow
and block lists, and the rules, at one revision.

``rules/loader.py`` builds a :class:`Policy` from the database; ``scoring/pipeline.py``
decides with it. Nothing here knows of a transaction's shape: lists match entity values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from rules.engine import RuleSet


class Outcome(enum.StrEnum):
    """What a decision says; ``scoring.models.Outcome`` (the stored choices) is built on it."""

    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


THRESHOLDS_INVERTED = "The review threshold must not exceed decline."


class InvertedThresholds(ValueError):
    """The review threshold is above the decline one: no score could ever go to review."""


class ListType(enum.StrEnum):
    """Which list an entry is on; ``rules.models.ListType`` (the stored choices) is built on it."""

    ALLOW = "allow"
    BLOCK = "block"


class ListEntity(enum.StrEnum):
    """What a list entry names; each is a fact of the transaction
    (``scoring.transaction.LIST_VALUES``)."""

    CARD = "card"
    CUSTOMER = "customer"
    DEVICE = "device"
    IP = "ip"
    EMAIL = "email"
    COUNTRY = "country"
    MERCHANT = "merchant"


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs: at or above ``review`` → review, at or above ``decline`` → decline."""

    review: float
    decline: float

    @staticmethod
    def check(review: float, decline: float) -> None:
        """Raise :class:`InvertedThresholds` when ``review`` exceeds ``decline``.

        The one statement of that rule: the stored thresholds' ``clean()`` (so the service and
        the admin's change form), and the backtest form, call it; the table's check
        constraint only keeps the database consistent.
        """
        if review > decline:
            raise InvertedThresholds(THRESHOLDS_INVERTED)

    def outcome(self, probability: float) -> str:
        if probability >= self.decline:
            return Outcome.DECLINE
        if probability >= self.review:
            return Outcome.REVIEW
        return Outcome.APPROVE


@dataclass(frozen=True)
class ListHit:
    list_type: ListType
    entity: str
    entry_id: int


@dataclass(frozen=True)
class Lists:
    """Allow and block list entries: (list_type, entity, value) → entry id."""

    entries: Mapping[tuple[str, str, str], int] = field(default_factory=dict)

    def match(self, values: Mapping[str, str | None]) -> list[ListHit]:
        """The entries that hold one of ``values`` (entity → value, e.g. "card" → its id)."""
        hits = []
        for list_type in ListType:
            for entity, value in values.items():
                entry_id = self.entries.get((list_type, entity, value)) if value else None
                if entry_id is not None:
                    hits.append(ListHit(list_type, entity, entry_id))
        return hits


@dataclass(frozen=True)
class Policy:
    """Everything configurable that a decision depends on, at one revision."""

    revision: int
    rules: RuleSet
    lists: Lists
    thresholds: Thresholds
    rule_descriptions: Mapping[str, str] = field(default_factory=dict)
