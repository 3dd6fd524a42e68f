"""The transaction's one shape and its conversions (pure: no Django ORM).

:class:`TransactionFacts` declares what a decision knows of a payment. Everything else is
derived from that declaration, not written again field by field:

- request → facts: :func:`decision_request_from` (validated API data; the e-mail only hashed);
- facts → :class:`Event` (what the feature store sees): :meth:`TransactionFacts.event`, the
  local hour from :func:`local_hour`, the one formula training and serving share;
- facts → what rules and lists see: :meth:`TransactionFacts.rule_facts` and :data:`RULE_FACTS`
  from one table (:data:`RULE_TEXT_FACTS`), :meth:`TransactionFacts.list_values`;
- stored row → facts: :func:`stored_from_row` reads a tuple of :data:`ROW_COLUMNS` (what
  ``values_list`` returns; replays, cold history and store warm-up all go through it).

The conversions that need the Django model (facts → a ``Transaction`` row, a model instance or
a queryset → facts) are in :mod:`scoring.transaction_rows`, next to this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rules.engine import FactType
from rules.policy import ListEntity
from scoring.features.definitions import FEATURE_NAMES, Features
from scoring.features.event import Event, Parties
from scoring.pii import email_hash


@dataclass(frozen=True, kw_only=True)
class TransactionFacts(Parties):
    """A validated transaction, as the pipeline sees it (the e-mail only as a keyed hash):
    its parties (customer, merchant, card, device, IP address, country, payee) and these."""

    transaction_id: str
    occurred_at: dt.datetime  # in the UTC offset the integrator sent
    amount: Decimal
    currency: str
    channel: str
    merchant_category: str | None = None
    email_hash: str | None = None
    email_domain: str | None = None

    def event(self, ref: str, fingerprint: str = "") -> Event:
        """What the feature store sees of this transaction."""
        return Event(
            ref=ref,
            ts=self.occurred_at.timestamp(),
            amount=float(self.amount),
            local_hour=local_hour(self.occurred_at),
            fingerprint=fingerprint,
            **dict(zip(_EVENT_COPIES, _event_copies(self), strict=True)),
        )

    def list_values(self) -> dict[str, str | None]:
        """Entity → the value allow and block lists match it by."""
        return dict(zip(LIST_VALUES, _list_values(self), strict=True))

    def rule_facts(self, features: Features) -> dict[str, Any]:
        """What a rule's expression may name (:data:`RULE_FACTS`), with its values."""
        return {
            **features,
            "hour_of_day": float(self.occurred_at.hour),
            **dict(zip(RULE_TEXT_FACTS, _rule_text_facts(self), strict=True)),
        }


FACT_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TransactionFacts))
# The facts a transaction may leave out (None here; stored as '' or NULL).
OPTIONAL_FACTS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(TransactionFacts) if f.default is None
)
# The Event's fields that are facts of the same name and value (not computed from one).
_EVENT_COPIES: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Event) if f.name in FACT_NAMES and f.name != "amount"
)

# The list entity → the fact it is matched by (in the order list hits are reported).
LIST_VALUES: Mapping[ListEntity, str] = {
    ListEntity.CARD: "card_id", ListEntity.CUSTOMER: "customer_id",
    ListEntity.DEVICE: "device_id", ListEntity.IP: "ip", ListEntity.EMAIL: "email_hash",
    ListEntity.COUNTRY: "country", ListEntity.MERCHANT: "merchant_id",
}  # fmt: skip

# The facts a rule may name as text, beside the features and the hour of day. Not the id (it
# names no pattern) and not the e-mail's hash (lists match it; a rule has its domain).
RULE_TEXT_FACTS: tuple[str, ...] = (
    "currency", "channel", "country", "merchant_id", "merchant_category", "customer_id",
    "card_id", "device_id", "ip", "payee_id", "email_domain",
)  # fmt: skip

# Getters of those facts at once, in their order (a decision reads them: it must be quick).
_event_copies = operator.attrgetter(*_EVENT_COPIES)
_list_values = operator.attrgetter(*LIST_VALUES.values())
_rule_text_facts = operator.attrgetter(*RULE_TEXT_FACTS)

# What a rule may name, with its type. Checked when a rule is saved, not when it runs.
RULE_FACTS: Mapping[str, FactType] = {
    **dict.fromkeys(FEATURE_NAMES, FactType.NUMBER),
    "hour_of_day": FactType.NUMBER,
    **dict.fromkeys(RULE_TEXT_FACTS, FactType.STRING),
}


def local_hour(moment: dt.datetime) -> float:
    """The time of day in ``moment``'s own offset, in hours (0 ≤ h < 24): a feature."""
    return moment.hour + moment.minute / 60


def offset_minutes(moment: dt.datetime) -> int:
    """The UTC offset ``moment`` carries, in minutes (what the row stores beside it)."""
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)


def in_offset(moment: dt.datetime, minutes: int) -> dt.datetime:
    """``moment`` in the UTC offset of ``minutes`` (the stored row back as it was sent)."""
    return moment.astimezone(_zone(minutes))


@functools.cache
def _zone(minutes: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=minutes))


# --- request → facts ---------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRequest:
    """What the decision service takes: the facts, and the metadata stored beside them."""

    facts: TransactionFacts
    metadata: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """SHA-256 of the canonical request: what a retry must repeat exactly."""
        body = {**dataclasses.asdict(self.facts), "metadata": self.metadata}
        body["amount"] = str(self.facts.amount.normalize())
        body["occurred_at"] = self.facts.occurred_at.isoformat()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def decision_request_from(data: Mapping[str, Any]) -> DecisionRequest:
    """Validated request data → what the decision service takes (the e-mail only hashed).

    Every fact but the e-mail's two is the request field of the same name.
    """
    email = data.get("email")
    values: dict[str, Any] = {name: data.get(name) for name in FACT_NAMES}
    values["email_hash"] = email_hash(email) if email else None
    values["email_domain"] = email.rsplit("@", 1)[-1].lower() if email else None
    return DecisionRequest(TransactionFacts(**values), metadata=data.get("metadata") or {})


# --- stored row → facts ------------------------------------------------------------------

# A stored transaction's columns as ``values_list(*ROW_COLUMNS)`` reads them: the facts are
# columns of the same name (occurred_at in UTC, its offset beside it).
ROW_COLUMNS: tuple[str, ...] = ("integrator_id", "request_hash", "utc_offset_minutes", *FACT_NAMES)


@dataclass(frozen=True)
class StoredTransaction:
    """A stored transaction as a decision saw it: its integrator (the store's scope), its
    facts and the request's fingerprint."""

    scope: str
    facts: TransactionFacts
    fingerprint: str

    def event(self) -> Event:
        """The event its decision recorded in the feature store (its ref is its id)."""
        return self.facts.event(self.facts.transaction_id, self.fingerprint)


_OCCURRED_AT = FACT_NAMES.index("occurred_at")
_OPTIONAL_AT = tuple(FACT_NAMES.index(name) for name in OPTIONAL_FACTS)


def stored_from_row(row: Sequence[Any]) -> StoredTransaction:
    """A row of :data:`ROW_COLUMNS` → the stored transaction (an absent fact: '' or NULL).

    By position, not by name: store warm-up reads every stored row this way.
    """
    scope, fingerprint, offset, *facts = row
    facts[_OCCURRED_AT] = in_offset(facts[_OCCURRED_AT], offset)
    for i in _OPTIONAL_AT:
        facts[i] = facts[i] or None
    return StoredTransaction(
        str(scope), TransactionFacts(**dict(zip(FACT_NAMES, facts, strict=True))), fingerprint
    )
