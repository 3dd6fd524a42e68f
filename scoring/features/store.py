"""Online feature stores: Redis in production (here), in-process for the demo and training
replays (:mod:`scoring.features.memory_store`).

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

import uuid
from collections.abc import Iterable
from dataclasses import replace
from importlib import resources
from typing import Protocol

import redis

from scoring.features import cold
from scoring.features.definitions import (
    FIRST_SEEN_ENTITIES,
    LONGEST_WINDOW,
    WINDOWS,
    RunningStats,
    Snapshot,
    WindowStats,
)
from scoring.features.event import Event
from scoring.features.lean_script import Connections, LeanScript

LATE_MARGIN = 3600
TRIM_HORIZON = LONGEST_WINDOW + LATE_MARGIN
# A velocity series drops members older than TRIM_HORIZON on every TRIM_EVERY-th event (the
# answers do not depend on it; the Lua script saves a call on the others), and so do the
# distinct sets of its entity (a card's merchants and countries, a device's cards) on every
# TRIM_EVERY-th event of that entity. Same in observe.lua.
TRIM_EVERY = 16
VELOCITY_TTL_MS = TRIM_HORIZON * 1000
PROFILE_TTL_MS = 180 * 86400 * 1000
SEEN_TTL_MS = 48 * 3600 * 1000
# When an entity was first seen is kept as long as its profile: an entity silent for longer
# is new again (Redis expires the key; a key holds two numbers, ~100 bytes with its name).
FIRST_SEEN_TTL_MS = PROFILE_TTL_MS
# A forget comes from the request that observed the event, within seconds; the record is
# kept a little longer than any request can take, and no longer (it is not needed after).
UNDO_TTL_MS = 10 * 60 * 1000

# Redis only. An entity's keys get their TTL when created and are renewed together at most
# once per RENEW_SECONDS of wall-clock time, to their TTL plus RENEW_SECONDS (so they still
# live at least their TTL after the entity's latest event): not one PEXPIRE per key and event.
RENEW_SECONDS = 3600
# The latest members of a velocity series the script reads at once (older window ends are
# looked up by score). More is not cheaper: Redis formats every score it returns, and 8 cost
# ~2.8x one read (measured, bench/feature_store.py); the tests pass with 1, 2, 3 and 8.
VELOCITY_TAIL = 1
# The key layout's version, in every key name but the cold generation's: keys of an earlier
# layout are simply not read, and expire by their TTLs. Change it with the layout.
LAYOUT = "v2"


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


def seen_value(event: Event, payload: str) -> str:
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


def replayed_snapshot(seen: str, event: Event) -> Snapshot:
    payload = _replayed_payload(seen, event)
    try:
        return payload_to_snapshot(payload, event, replayed=True)
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


def payload_to_snapshot(payload: str, event: Event, *, replayed: bool) -> Snapshot:
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
    first_seen = {
        entity: None if part == NEVER_SEEN else float(part)
        for entity, part in zip(FIRST_SEEN_ENTITIES, parts[pos + 16 : pos + 19], strict=True)
        if part
    }
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
        first_seen=first_seen,
        replayed=replayed,
    )


# In the payload, a first-seen field of an entity never seen before ('' : no such entity).
NEVER_SEEN = "-"


def first_seen_ids(event: Event) -> list[str]:
    """The FIRST_SEEN_ENTITIES' ids of an event ('' for one it does not have)."""
    values = event.entity_values()
    return [values[entity] or "" for entity in FIRST_SEEN_ENTITIES]


def fmt_float(x: float) -> str:
    return repr(float(x))


def cold_fields(event: Event, scope: str) -> list[str]:
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
        connections = Connections(client)
        self._script = LeanScript(client, lua_script("observe.lua"), connections)
        self._forget = LeanScript(client, lua_script("forget.lua"), connections)
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

    def observe(self, event: Event, *, scope: str) -> Snapshot:
        try:
            answer: bytes = self._script(self._args(event, scope))
        except redis.RedisError as exc:
            raise FeatureStoreUnavailable(str(exc)) from exc
        # '1' then the seen marker (a retry), or '0' then the payload.
        text = answer.decode()
        if text[0] == "1":
            return replayed_snapshot(text[1:], event)
        return payload_to_snapshot(text[1:], event, replayed=False)

    def forget(self, event: Event, *, scope: str) -> bool:
        try:
            done = self._forget(self._args(event, scope))
        except redis.RedisError as exc:
            raise FeatureStoreUnavailable(str(exc)) from exc
        return bool(done)

    def _args(self, event: Event, scope: str) -> list[str]:
        """observe.lua's (and forget.lua's) arguments for an event: see keys.lua."""
        return [
            f"{self._prefix}:{LAYOUT}:{scope}:",
            scope,
            fmt_float(event.ts),
            str(to_milli(event.amount)),
            event.ref,
            _seen_fingerprint(event),
            event.customer_id,
            event.merchant_id,
            event.card_id or "",
            event.device_id or "",
            event.ip or "",
            event.country or "",
            event.payee_id or "",
            self._cold_pointer,
            "".join("0" if value is None else "1" for value in event.entity_values().values()),
        ]


def lua_script(name: str) -> str:
    """A script as Redis runs it: the constants it shares with Python, keys.lua, then it."""
    scripts = resources.files("scoring.features")
    shared = scripts.joinpath("keys.lua").read_text()
    return f"{_lua_constants()}\n{shared}\n{scripts.joinpath(name).read_text()}"


def _lua_constants() -> str:
    windows = ", ".join(str(seconds) for seconds in WINDOWS.values())
    renew_ms = RENEW_SECONDS * 1000
    numbers = {
        "TRIM": TRIM_HORIZON,
        "TRIM_EVERY": TRIM_EVERY,
        "TAIL": VELOCITY_TAIL,
        "RENEW_SECONDS": RENEW_SECONDS,
        "TTL_VELOCITY": VELOCITY_TTL_MS + renew_ms,
        # The customer's hash holds its profile and its first seen: one TTL for both.
        "TTL_PROFILE": max(PROFILE_TTL_MS, FIRST_SEEN_TTL_MS) + renew_ms,
        "TTL_FIRST_SEEN": FIRST_SEEN_TTL_MS + renew_ms,
        "TTL_SEEN": SEEN_TTL_MS,
        "TTL_UNDO": UNDO_TTL_MS,
    }
    kinds = {"CUSTOMER": cold.CUSTOMER, "MERCHANT": cold.MERCHANT}
    kinds |= {"DEVICE": cold.DEVICE, "IP": cold.IP}
    lines = [f"-- constants from scoring/features/store.py\nlocal WINDOWS = {{{windows}}}"]
    lines += [f"local {name} = {value}" for name, value in numbers.items()]
    lines += [f"local COLD_{name} = '{kind}'" for name, kind in kinds.items()]
    return "\n".join(lines)


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
    "RedisFeatureStore",
    "RefConflict",
    "Snapshot",
]
