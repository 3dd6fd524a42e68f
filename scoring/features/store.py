"""Online feature stores: Redis in production, in-process for the demo and training replays.

Both implement :class:`FeatureStore`: ``observe(event)`` returns the state before the event and
records it, atomically. Recording is idempotent on ``event.ref``: a retried or concurrent
duplicate gets the first snapshot back and is never counted twice. The Redis store does it in
one Lua script (one round trip); the in-process store mirrors that script line for line, and the
same tests run against both.

``forget(event)`` takes an event back when its decision could not be stored, so that a
transaction nobody stored is not counted ("ghost counts"): observe leaves an undo record next to
its seen marker (written by the same script, kept :data:`UNDO_TTL_MS`), and forget reverses
exactly that, in one script too. Events recorded in between keep their own contribution.

Events may arrive slightly out of order. A late event is read exactly, and recorded at the
latest time already seen for its entity, so the stored series stays sorted; state older than
the longest window plus :data:`LATE_MARGIN` is dropped, which bounds how late an event can be
and still be read exactly.
"""

from __future__ import annotations

import bisect
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Protocol

import redis

from scoring.features import cold
from scoring.features.definitions import (
    LONGEST_WINDOW,
    WINDOWS,
    Event,
    RunningStats,
    Snapshot,
    WindowStats,
)

LATE_MARGIN = 3600
TRIM_HORIZON = LONGEST_WINDOW + LATE_MARGIN
# A velocity series drops members older than TRIM_HORIZON on every TRIM_EVERY-th event (the
# answers do not depend on it; the Lua script saves a call on the others). Same in observe.lua.
TRIM_EVERY = 16
VELOCITY_TTL_MS = TRIM_HORIZON * 1000
PROFILE_TTL_MS = 180 * 86400 * 1000
SEEN_TTL_MS = 48 * 3600 * 1000
# A forget comes from the request that observed the event, within seconds; the record is
# kept a little longer than any request can take, and no longer (it is not needed after).
UNDO_TTL_MS = 10 * 60 * 1000


class FeatureStoreUnavailable(Exception):
    """The store could not be read or written (Redis down or too slow)."""


class RefConflict(Exception):
    """The event's ref was recorded before for a request with another fingerprint."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"ref {ref!r} was recorded for another request")
        self.ref = ref


# The seen marker keeps this much of a request's fingerprint: enough to tell a retry from
# another request under the same ref (the database compares the whole hash again on insert).
FINGERPRINT_CHARS = 16


def _seen_fingerprint(event: Event) -> str:
    return event.fingerprint[:FINGERPRINT_CHARS]


def _seen_value(event: Event, payload: str) -> str:
    """What the seen marker keeps: the request's fingerprint, then the payload."""
    return f"{_seen_fingerprint(event)}#{payload}"


def _replayed_payload(seen: str, event: Event) -> str:
    """The payload a seen marker kept, once the event is known to repeat the same request.

    Checked before decoding: another request under the same ref may name other entities, and
    its payload would not even decode against this event.
    """
    fingerprint, marked, payload = seen.partition("#")
    if not marked:  # kept before markers carried fingerprints
        return seen
    if fingerprint != _seen_fingerprint(event):
        raise RefConflict(event.ref)
    return payload


def _replayed_snapshot(seen: str, event: Event) -> Snapshot:
    payload = _replayed_payload(seen, event)
    try:
        return _payload_to_snapshot(payload, event, replayed=True)
    except (ValueError, IndexError):
        # Recorded for an event naming other entities: not the same request.
        raise RefConflict(event.ref) from None


class FeatureStore(Protocol):
    def observe(self, event: Event, *, scope: str) -> Snapshot:
        """State of the event's entities before it; then record it (once per ``event.ref``).

        Raises :class:`FeatureStoreUnavailable` when the store cannot answer.
        """
        ...

    def forget(self, event: Event, *, scope: str) -> bool:
        """Reverse what ``observe`` recorded for ``event`` (the same event), as if it never came.

        Later events keep their own contribution. Returns False when there was nothing to
        reverse (unknown ref, already forgotten, or observed longer than UNDO_TTL ago).
        Raises :class:`FeatureStoreUnavailable` when the store cannot answer.
        """
        ...


def to_milli(amount: float) -> int:
    return round(amount * 1000)


def _payload_to_snapshot(payload: str, event: Event, *, replayed: bool) -> Snapshot:
    """Decode the '|'-joined state both stores produce (and cache for retries)."""
    parts = payload.split("|")
    pos = 0
    velocity: dict[str, dict[str, WindowStats]] = {}
    for entity, value in event.entity_values().items():
        if value is None:
            continue
        stats = {}
        for window in WINDOWS:
            stats[window] = WindowStats(int(parts[pos]), int(parts[pos + 1]) / 1000)
            pos += 2
        velocity[entity] = stats
    merchants, countries, last_ts, n, mean, m2, device, country, cards, payers, new = parts[
        pos : pos + 11
    ]
    cold_as_of, cold_customer, cold_merchant, cold_device, cold_ip = parts[pos + 11 : pos + 16]
    return Snapshot(
        velocity=velocity,
        card_distinct_merchants_24h=int(merchants) if merchants else None,
        card_distinct_countries_24h=int(countries) if countries else None,
        customer_last_ts=float(last_ts) if last_ts else None,
        customer_amounts=RunningStats(int(n), float(mean), float(m2)),
        device_known_for_customer=None if device == "" else device == "1",
        country_known_for_customer=None if country == "" else country == "1",
        device_distinct_cards_1h=int(cards) if cards else None,
        payee_distinct_payers_24h=int(payers) if payers else None,
        payee_new_payers_24h=int(new) if new else None,
        cold=cold.decode(cold_as_of, cold_customer, cold_merchant, cold_device, cold_ip),
        replayed=replayed,
    )


def _fmt(x: float) -> str:
    return repr(float(x))


def _cold_fields(event: Event, scope: str) -> list[str]:
    """The cold-generation fields of an event's customer, merchant, device and IP address."""
    return [
        cold.entry_key(cold.CUSTOMER, scope, event.customer_id),
        cold.entry_key(cold.MERCHANT, scope, event.merchant_id),
        cold.entry_key(cold.DEVICE, scope, event.device_id or ""),
        cold.entry_key(cold.IP, scope, event.ip or ""),
    ]


# --- Redis ---------------------------------------------------------------------------------


class RedisFeatureStore:
    """Feature state in Redis, read and updated by one Lua script per event."""

    def __init__(self, client: redis.Redis, *, prefix: str = "fo:f") -> None:
        self._client = client
        self._prefix = prefix
        scripts = resources.files("scoring.features")
        self._script = client.register_script(scripts.joinpath("observe.lua").read_text())
        self._forget = client.register_script(scripts.joinpath("forget.lua").read_text())
        # The current cold generation's as_of; the generation is the hash "<pointer>:<as_of>".
        self._cold_pointer = f"{prefix}:cold"

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "fo:f", timeout: float = 0.25
    ) -> RedisFeatureStore:
        # A short timeout: a decision must not wait on a sick Redis beyond the latency budget.
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, prefix=prefix)

    def ping(self) -> None:
        self._client.ping()

    def cold_as_of(self) -> float | None:
        try:
            value = self._client.get(self._cold_pointer)
        except redis.RedisError as exc:
            raise FeatureStoreUnavailable(str(exc)) from exc
        return None if value is None else float(value)

    def cold_publish(self, as_of: float, entries: Iterable[tuple[str, str]]) -> int:
        """Write a whole generation, then point decisions at it and drop the one before.

        The generation is built under a temporary name and renamed into place, so a reader
        never sees half of one (even when the same moment is published again). Readers switch
        atomically: the Lua script reads the pointer and the generation together.
        """
        as_of = float(as_of)
        generation = f"{self._cold_pointer}:{as_of!r}"
        building = f"{generation}:building:{uuid.uuid4().hex}"
        count = 0
        batch: list[str] = []
        for field_name, value in entries:
            batch += [field_name, value]
            if len(batch) == 10000:
                count += self._write_batch(building, batch)
                batch = []
        if batch:
            count += self._write_batch(building, batch)
        if count:
            self._client.persist(building)
            self._client.rename(building, generation)
        else:
            self._client.delete(generation)  # an empty generation: every entity is absent
        previous = self._client.getset(self._cold_pointer, repr(as_of))
        if isinstance(previous, bytes) and previous.decode() != repr(as_of):
            self._client.unlink(f"{self._cold_pointer}:{previous.decode()}")
        return count

    def _write_batch(self, key: str, items: list[str]) -> int:
        written = self._client.hset(key, items=items)
        self._client.expire(key, 3600)  # a crashed build does not linger
        return written

    def _key(self, scope: str, kind: str, value: str) -> str:
        return f"{self._prefix}:{scope}:{kind}:{value}"

    def observe(self, event: Event, *, scope: str) -> Snapshot:
        try:
            replayed, payload = self._script(
                keys=self._keys(event, scope), args=self._args(event, scope)
            )
        except redis.RedisError as exc:
            raise FeatureStoreUnavailable(str(exc)) from exc
        if replayed == b"1":
            return _replayed_snapshot(payload.decode(), event)
        return _payload_to_snapshot(payload.decode(), event, replayed=False)

    def forget(self, event: Event, *, scope: str) -> bool:
        try:
            done = self._forget(keys=self._keys(event, scope), args=self._args(event, scope))
        except redis.RedisError as exc:
            raise FeatureStoreUnavailable(str(exc)) from exc
        return bool(done)

    def _keys(self, event: Event, scope: str) -> list[str]:
        """The keys of observe.lua (and forget.lua) for an event."""
        key = self._key
        keys = [
            key(scope, "seen", event.ref),
            key(scope, "cust", event.customer_id),
            key(scope, "cust-devices", event.customer_id),
            key(scope, "card-merchants", event.card_id or ""),
            key(scope, "card-countries", event.card_id or ""),
            key(scope, "cust-countries", event.customer_id),
            key(scope, "device-cards", event.device_id or ""),
            key(scope, "payee-payers", event.payee_id or ""),
            key(scope, "payee-first", event.payee_id or ""),
            self._cold_pointer,
            key(scope, "undo", event.ref),
        ]
        for entity, value in event.entity_values().items():
            if value is not None:
                keys.append(key(scope, entity, value))
        return keys

    def _args(self, event: Event, scope: str) -> list[str]:
        return [
            _fmt(event.ts),
            str(to_milli(event.amount)),
            event.ref,
            ",".join(str(seconds) for seconds in WINDOWS.values()),
            str(TRIM_HORIZON),
            str(VELOCITY_TTL_MS),
            "1" if event.card_id is not None else "0",
            event.merchant_id,
            event.device_id or "",
            event.country or "",
            str(PROFILE_TTL_MS),
            str(SEEN_TTL_MS),
            event.payee_id or "",
            event.customer_id,
            event.card_id or "",
            f"{self._cold_pointer}:",
            *_cold_fields(event, scope),
            str(UNDO_TTL_MS),
            _seen_fingerprint(event),
        ]


# --- in-process ----------------------------------------------------------------------------


@dataclass
class _Series:
    """A velocity series: scores with cumulative count and milli-amount sums."""

    scores: list[float] = field(default_factory=list)
    cum_counts: list[int] = field(default_factory=list)
    cum_sums: list[int] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    def cum_at(self, x: float) -> tuple[int, int]:
        i = bisect.bisect_right(self.scores, x)
        if i > 0:
            return self.cum_counts[i - 1], self.cum_sums[i - 1]
        if not self.scores:
            return 0, 0
        return self.cum_counts[0] - 1, self.cum_sums[0] - self.amounts[0]

    def add(self, ts: float, amount: int, ref: str) -> float:
        """Record an event; returns the score it got."""
        last_count, last_sum, score = 0, 0, ts
        if self.scores:
            last_count, last_sum = self.cum_counts[-1], self.cum_sums[-1]
            score = max(ts, self.scores[-1])
        self.scores.append(score)
        self.cum_counts.append(last_count + 1)
        self.cum_sums.append(last_sum + amount)
        self.amounts.append(amount)
        self.refs.append(ref)
        if (last_count + 1) % TRIM_EVERY:
            return score
        cut = bisect.bisect_left(self.scores, score - TRIM_HORIZON)
        if cut:
            for column in self._columns():
                del column[:cut]
        return score

    def remove(self, ref: str, score: float) -> None:
        """Drop the event ``ref`` (recorded at ``score``); the ones after it count it no more."""
        i = bisect.bisect_left(self.scores, score)
        while i < len(self.refs) and self.refs[i] != ref:
            i += 1
        if i == len(self.refs):
            return
        amount = self.amounts[i]
        for column in self._columns():
            del column[i]
        for j in range(i, len(self.scores)):
            self.cum_counts[j] -= 1
            self.cum_sums[j] -= amount

    def _columns(self) -> tuple[list[float], list[int], list[int], list[int], list[str]]:
        return self.scores, self.cum_counts, self.cum_sums, self.amounts, self.refs


@dataclass
class _Profile:
    last_ts: float | None = None
    stats: RunningStats = field(default_factory=RunningStats)
    devices: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)


@dataclass
class _Undo:
    """What one observe changed (observe.lua's undo record)."""

    scores: dict[str, float] = field(default_factory=dict)  # velocity series → its score
    # (distinct table, member, score before or None when absent) for each member raised
    raised: list[tuple[str, str, float | None]] = field(default_factory=list)
    device_added: bool = False
    country_added: bool = False
    first_payer: bool = False
    last_ts: float | None = None
    stats: RunningStats = field(default_factory=RunningStats)


# The in-process store keeps the undo records of this many latest events (Redis: a TTL).
UNDO_KEPT = 10_000


class MemoryFeatureStore:
    """The same state in this process's memory (no expiry by wall clock: replays use it too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, str] = {}
        self._undo: dict[str, _Undo] = {}
        self._series: dict[str, _Series] = {}
        self._distinct: dict[str, dict[str, float]] = {}
        self._profiles: dict[str, _Profile] = {}
        self._payee_first: dict[str, dict[str, float]] = {}
        self._cold_as_of: float | None = None
        self._cold: Mapping[str, str] = {}

    def cold_as_of(self) -> float | None:
        return self._cold_as_of

    def cold_publish(self, as_of: float, entries: Iterable[tuple[str, str]]) -> int:
        table = dict(entries)
        with self._lock:
            self._cold_as_of, self._cold = as_of, table
        return len(table)

    def observe(self, event: Event, *, scope: str) -> Snapshot:
        seen_key = f"{scope}:{event.ref}"
        with self._lock:
            cached = self._seen.get(seen_key)
            if cached is not None:
                return _replayed_snapshot(cached, event)
            undo = _Undo()
            payload = "|".join(self._observe(event, scope, undo))
            self._seen[seen_key] = _seen_value(event, payload)
            self._undo[seen_key] = undo
            if len(self._undo) > UNDO_KEPT:
                del self._undo[next(iter(self._undo))]
        return _payload_to_snapshot(payload, event, replayed=False)

    def forget(self, event: Event, *, scope: str) -> bool:
        seen_key = f"{scope}:{event.ref}"
        with self._lock:
            undo = self._undo.pop(seen_key, None)
            if undo is None:
                return False
            del self._seen[seen_key]
            self._forget(event, scope, undo)
        return True

    def _observe(self, event: Event, scope: str, undo: _Undo) -> list[str]:
        out: list[str] = []
        amount = to_milli(event.amount)
        for entity, value in event.entity_values().items():
            if value is None:
                continue
            key = f"{scope}:{entity}:{value}"
            series = self._series.get(key) or self._series.setdefault(key, _Series())
            count_now, sum_now = series.cum_at(event.ts)
            for seconds in WINDOWS.values():
                count_w, sum_w = series.cum_at(event.ts - seconds)
                out += [str(count_now - count_w), str(sum_now - sum_w)]
            undo.scores[key] = series.add(event.ts, amount, event.ref)
        if event.card_id is not None:
            card = event.card_id
            out.append(self._distinct_add(f"{scope}:m:{card}", event.merchant_id, event, undo))
            out.append(self._distinct_add(f"{scope}:c:{card}", event.country or "", event, undo))
        else:
            out += ["", ""]
        key = f"{scope}:{event.customer_id}"
        profile = self._profiles.get(key) or self._profiles.setdefault(key, _Profile())
        out += self._profile_update(profile, event, amount, undo)
        out.append(self._country_seen(profile, event, undo))
        out.append(self._device_cards(f"{scope}:dc:{event.device_id}", event, undo))
        out += self._payee_payers(f"{scope}:{event.payee_id}", event, undo)
        if self._cold_as_of is None:
            out += ["", "", "", "", ""]
        else:
            out.append(_fmt(self._cold_as_of))
            out += [self._cold.get(name, "") for name in _cold_fields(event, scope)]
        return out

    def _raise(self, key: str, member: str, ts: float, undo: _Undo) -> None:
        """Set the member's score to ts unless it is later already (observe.lua's raise)."""
        seen = self._distinct.setdefault(key, {})
        before = seen.get(member)
        if before is not None and before >= ts:
            return
        seen[member] = ts
        undo.raised.append((key, member, before))

    def _country_seen(self, profile: _Profile, event: Event, undo: _Undo) -> str:
        if event.country is None:
            return ""
        known = event.country in profile.countries
        profile.countries.add(event.country)
        undo.country_added = not known
        return "1" if known else "0"

    def _device_cards(self, key: str, event: Event, undo: _Undo) -> str:
        if event.device_id is None or event.card_id is None:
            return ""
        seen = self._distinct.setdefault(key, {})
        ts = event.ts
        n = sum(1 for last in seen.values() if ts - WINDOWS["1h"] < last <= ts)
        self._raise(key, event.card_id, ts, undo)
        for stale in [m for m, last in seen.items() if last < ts - TRIM_HORIZON]:
            del seen[stale]
        return str(n)

    def _payee_payers(self, key: str, event: Event, undo: _Undo) -> list[str]:
        if event.payee_id is None:
            return ["", ""]
        recent = self._distinct.setdefault(f"pr:{key}", {})
        firsts = self._payee_first.setdefault(key, {})
        ts = event.ts
        window = [p for p, last in recent.items() if ts - LONGEST_WINDOW < last <= ts]
        new = sum(1 for p in window if p in firsts and firsts[p] > ts - LONGEST_WINDOW)
        payer = event.customer_id
        self._raise(f"pr:{key}", payer, ts, undo)
        for stale in [p for p, last in recent.items() if last < ts - TRIM_HORIZON]:
            del recent[stale]
        undo.first_payer = payer not in firsts
        firsts.setdefault(payer, ts)
        return [str(len(window)), str(new)]

    def _distinct_add(self, key: str, member: str, event: Event, undo: _Undo) -> str:
        seen = self._distinct.setdefault(key, {})
        ts = event.ts
        n = sum(1 for last in seen.values() if ts - LONGEST_WINDOW < last <= ts)
        if member:
            self._raise(key, member, ts, undo)
        for stale in [m for m, last in seen.items() if last < ts - TRIM_HORIZON]:
            del seen[stale]
        return str(n)

    def _profile_update(
        self, profile: _Profile, event: Event, amount: int, undo: _Undo
    ) -> list[str]:
        stats = profile.stats
        undo.last_ts, undo.stats = profile.last_ts, stats
        last = "" if profile.last_ts is None else _fmt(profile.last_ts)
        out = [last, str(stats.n), _fmt(stats.mean), _fmt(stats.m2)]
        profile.stats = stats.add(amount / 1000)
        profile.last_ts = event.ts if profile.last_ts is None else max(event.ts, profile.last_ts)
        if event.device_id is not None:
            known = event.device_id in profile.devices
            out.append("1" if known else "0")
            profile.devices.add(event.device_id)
            undo.device_added = not known
        else:
            out.append("")
        return out

    def _forget(self, event: Event, scope: str, undo: _Undo) -> None:
        """forget.lua's steps, in its order."""
        for key, score in undo.scores.items():
            self._series[key].remove(event.ref, score)
        for key, member, before in undo.raised:
            seen = self._distinct[key]
            if seen.get(member) != event.ts:
                continue  # a later event holds it now
            if before is None:
                del seen[member]
            else:
                seen[member] = before
        profile = self._profiles[f"{scope}:{event.customer_id}"]
        if undo.device_added and event.device_id is not None:
            profile.devices.discard(event.device_id)
        if undo.country_added and event.country is not None:
            profile.countries.discard(event.country)
        if undo.first_payer and event.payee_id is not None:
            firsts = self._payee_first[f"{scope}:{event.payee_id}"]
            if firsts.get(event.customer_id) == event.ts:
                del firsts[event.customer_id]
        customer = self._series[f"{scope}:customer:{event.customer_id}"]
        self._profile_forget(profile, event, undo, customer.scores[-1:])

    def _profile_forget(
        self, profile: _Profile, event: Event, undo: _Undo, customer_last: list[float]
    ) -> None:
        """Restore the profile if nothing changed it since, else take the amount out."""
        x = to_milli(event.amount) / 1000
        wrote_last = event.ts if undo.last_ts is None else max(event.ts, undo.last_ts)
        if profile.stats == undo.stats.add(x) and profile.last_ts == wrote_last:
            profile.stats, profile.last_ts = undo.stats, undo.last_ts
            return
        profile.stats = profile.stats.remove(x)
        # The latest time of the customer's remaining events is its series' last score.
        if customer_last:
            profile.last_ts = customer_last[0]
        elif undo.last_ts is not None:
            profile.last_ts = undo.last_ts


# The stores that serve: both can also hold a cold generation.
OnlineStore = MemoryFeatureStore | RedisFeatureStore


# --- cold values from history --------------------------------------------------------------


class ColdOverlay:
    """A store whose cold values come from a :class:`~cold.ColdHistory`, not a generation.

    Replays and simulated history use it: the hot state is the wrapped store's, the cold values
    are what the generation ``as_of`` held (set with :meth:`at` before each event).
    """

    def __init__(self, store: FeatureStore, history: cold.ColdHistory) -> None:
        self._store = store
        self._history = history
        self._as_of: float | None = None

    def at(self, as_of: float | None) -> None:
        self._as_of = as_of

    def observe(self, event: Event, *, scope: str) -> Snapshot:
        snapshot = self._store.observe(event, scope=scope)
        values = None
        if self._as_of is not None:
            values = self._history.values(
                scope,
                customer_id=event.customer_id,
                merchant_id=event.merchant_id,
                device_id=event.device_id,
                ip=event.ip,
                as_of=self._as_of,
            )
        return replace(snapshot, cold=values)

    def forget(self, event: Event, *, scope: str) -> bool:
        return self._store.forget(event, scope=scope)


__all__ = [
    "ColdOverlay",
    "FeatureStore",
    "FeatureStoreUnavailable",
    "MemoryFeatureStore",
    "OnlineStore",
    "RedisFeatureStore",
    "RefConflict",
    "Snapshot",
]
