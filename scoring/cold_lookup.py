"""Cold values as of a transaction's own time, in serving as in training.

A transaction reads the cold generation of its own period: the one computed as of
``as_of_for(occurred_at, COLD_FEATURES_PERIOD_SECONDS)``, from the transactions before that
moment and the labels reported before it (:class:`~scoring.features.cold.ColdHistory`, the one
definition). :class:`PointInTimeCold` wraps a feature store, as
:class:`~scoring.features.store.ColdOverlay` does for replays:

- live traffic (its period is the current generation's, or later: the beat is late) keeps
  what the store's one read returned, the current generation; nothing more is done;
- a back-filled transaction (its period is older than the current generation, or no
  generation was ever published while its integrator has history before its period) gets the
  values of its own period from a :class:`ColdSource`.

Two sources answer the same values. :class:`StoredCold` (the API) reads the stored rows of the
event's own customer, merchant, device and IP address over the window cold history reads
(``HISTORY_WINDOW`` before ``as_of``), in one query for the transactions and one for their
labels, plus, once per integrator and period, what its merchants' fraud rates are smoothed
toward (an aggregate of its payments and its labelled ones); it keeps each answer per period.
:class:`HistoryCold` (a bulk import) asks a ``ColdHistory`` built from the imported rows and
the stored ones.

**The assumption: history arrives in time order.** A training replay gives a decision the
values as of its ``cold_as_of`` from every stored row. The API answers from the rows stored
when the transaction is posted, so the two agree when, by then, every transaction that occurred
before its period was posted, and every label reported before its period too: a back-fill
posted in time order, each label posted once its ``reported_at`` has come. A transaction or a
label posted later than that (out of order) is not in the values of the transactions posted
before it (nor, for up to ``ENTRIES_KEPT`` answers, of those whose entity's answer for that
period this process already keeps); a training replay counts it. The bulk import sorts the
file by time itself, so its order in the file does not matter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from django.db.models import Count, Q

from scoring.features.cold import (
    CUSTOMER,
    DEVICE,
    HISTORY_WINDOW,
    IP,
    MERCHANT,
    MERCHANT_RATE_WINDOWS,
    ColdHistory,
    ColdValues,
    as_of_for,
    decode,
)
from scoring.features.definitions import Snapshot
from scoring.features.event import Event
from scoring.features.store import FeatureStore
from scoring.models import LabelEvent, Transaction
from scoring.replay import cold_rows

# The entity kinds of cold history and the column of a stored transaction naming each.
COLUMNS: Mapping[str, str] = {
    CUSTOMER: "customer_id",
    MERCHANT: "merchant_id",
    DEVICE: "device_id",
    IP: "ip",
}
# Entity answers a process keeps (a few MB): a back-fill asks the same merchant many times
# per period; a customer seldom.
ENTRIES_KEPT = 100_000


def _entities(event: Event) -> dict[str, str]:
    """The event's entities that cold history answers for (kind → id), absent ones left out."""
    ids = {CUSTOMER: event.customer_id, MERCHANT: event.merchant_id}
    ids.update({DEVICE: event.device_id or "", IP: event.ip or ""})
    return {kind: entity_id for kind, entity_id in ids.items() if entity_id}


class ColdSource(Protocol):
    def values(self, scope: str, event: Event, as_of: float) -> ColdValues:
        """The cold values of the event's entities as of ``as_of`` (point in time)."""
        ...

    def history_before(self, scope: str, as_of: float) -> bool:
        """Whether anything of the integrator occurred before ``as_of``."""
        ...


class PointInTimeCold:
    """A feature store whose cold values are those of each event's own period."""

    def __init__(self, store: FeatureStore, source: ColdSource, *, period: float) -> None:
        self._store = store
        self._source = source
        self._period = period

    def observe(self, event: Event, *, scope: str) -> Snapshot:
        snapshot = self._store.observe(event, scope=scope)
        as_of = as_of_for(event.ts, self._period)
        try:
            if not self._backfilled(snapshot.cold, scope, as_of):
                return snapshot
            values = self._source.values(scope, event, as_of)
        except BaseException:
            # No decision comes of it (the database failed): the event must not count.
            if not snapshot.replayed:
                self._store.forget(event, scope=scope)
            raise
        return replace(snapshot, cold=values)

    def _backfilled(self, current: ColdValues | None, scope: str, as_of: float) -> bool:
        if current is not None:
            return as_of < current.as_of  # one comparison for live traffic
        return self._source.history_before(scope, as_of)

    def forget(self, event: Event, *, scope: str) -> bool:
        return self._store.forget(event, scope=scope)


class HistoryCold:
    """Point-in-time values from a history in memory (a bulk import's rows and the stored)."""

    def __init__(self, history: ColdHistory, first_seen: Mapping[str, float]) -> None:
        self._history = history
        self._first_seen = first_seen

    def values(self, scope: str, event: Event, as_of: float) -> ColdValues:
        return self._history.values(
            scope,
            customer_id=event.customer_id,
            merchant_id=event.merchant_id,
            device_id=event.device_id,
            ip=event.ip,
            as_of=as_of,
        )

    def history_before(self, scope: str, as_of: float) -> bool:
        first = self._first_seen.get(scope)
        return first is not None and first < as_of


def _moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class StoredCold:
    """Point-in-time values from the stored rows of an event's own entities.

    One per process (``serving.stored_cold()``), shared by its threads; each entity's answer
    for a period is kept (see the module's assumption).
    """

    def __init__(self, *, entries_kept: int = ENTRIES_KEPT) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, str, float], str] = OrderedDict()
        self._kept = entries_kept
        # Per integrator, the earliest as_of known to have history before it.
        self._history_from: dict[str, float] = {}
        # Per (integrator, as_of): its merchants' payments and known frauds together, per window.
        self._priors: OrderedDict[tuple[str, float], list[tuple[int, int]]] = OrderedDict()

    def values(self, scope: str, event: Event, as_of: float) -> ColdValues:
        wanted = _entities(event)
        found = {kind: self._kept_entry((scope, kind, e, as_of)) for kind, e in wanted.items()}
        missing = {kind: wanted[kind] for kind, entry in found.items() if entry is None}
        if missing:
            history = self._history(scope, missing, as_of)
            for kind, entity_id in missing.items():
                found[kind] = entry = history.entry(kind, scope, entity_id, as_of)
                self._keep((scope, kind, entity_id, as_of), entry)
        values = decode(repr(as_of), *(found.get(kind) or "" for kind in COLUMNS))
        assert values is not None
        return values

    def history_before(self, scope: str, as_of: float) -> bool:
        known = self._history_from.get(scope)
        if known is not None and known <= as_of:
            return True
        found = Transaction.objects.filter(
            integrator_id=scope, occurred_at__lt=_moment(as_of)
        ).exists()
        if found:
            with self._lock:
                self._history_from[scope] = min(as_of, self._history_from.get(scope, as_of))
        return found

    def _history(self, scope: str, entities: Mapping[str, str], as_of: float) -> ColdHistory:
        """The stored rows naming any of ``entities`` in the window before ``as_of``, and the
        labels on them reported before it: each entity's answer is the one a whole generation
        gives it (its own rows are all there; another's change nothing of it)."""
        named = Q()
        for kind, entity_id in entities.items():
            named |= Q(**{COLUMNS[kind]: entity_id})
        txns = Transaction.objects.filter(
            named,
            integrator_id=scope,
            occurred_at__gte=_moment(as_of - HISTORY_WINDOW),
            occurred_at__lt=_moment(as_of),
        )
        labels = LabelEvent.objects.filter(transaction__in=txns, reported_at__lt=_moment(as_of))
        priors = {(scope, as_of): self._prior(scope, as_of)}
        return ColdHistory(*cold_rows(txns, labels), priors=priors)

    def _prior(self, scope: str, as_of: float) -> list[tuple[int, int]]:
        """What a whole generation counts of the integrator for the merchants' fraud rates:
        payments per window (one aggregate), and the known frauds among them — told by the
        one definition from the labelled payments alone (few: labels are mostly chargebacks)."""
        key = (scope, as_of)
        with self._lock:
            kept = self._priors.get(key)
        if kept is not None:
            return kept
        before = Transaction.objects.filter(integrator_id=scope, occurred_at__lt=_moment(as_of))
        counts = before.aggregate(
            **{
                name: Count("pk", filter=Q(occurred_at__gte=_moment(as_of - window)))
                for name, window in MERCHANT_RATE_WINDOWS.items()
            }
        )
        longest = max(MERCHANT_RATE_WINDOWS.values())
        labelled = before.filter(
            occurred_at__gte=_moment(as_of - longest), labels__reported_at__lt=_moment(as_of)
        ).distinct()
        labels = LabelEvent.objects.filter(transaction__in=labelled, reported_at__lt=_moment(as_of))
        frauds = ColdHistory(*cold_rows(labelled, labels)).scope_prior(scope, as_of)
        prior = [
            (counts[name], fraud)
            for name, (_, fraud) in zip(MERCHANT_RATE_WINDOWS, frauds, strict=True)
        ]
        with self._lock:
            self._priors[key] = prior
            if len(self._priors) > self._kept:
                self._priors.popitem(last=False)
        return prior

    def _kept_entry(self, key: tuple[str, str, str, float]) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def _keep(self, key: tuple[str, str, str, float], entry: str) -> None:
        with self._lock:
            self._entries[key] = entry
            if len(self._entries) > self._kept:
                self._entries.popitem(last=False)
