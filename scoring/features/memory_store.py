"""The in-process feature store: the embedded default, training replays and backtests.

It mirrors observe.lua and forget.lua step by step (see :mod:`scoring.features.store`), and the
same tests run against both stores. No expiry by wall clock: replays use it too.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scoring.features.definitions import (
    FIRST_SEEN_ENTITIES,
    LONGEST_WINDOW,
    WINDOWS,
    RunningStats,
    Snapshot,
)
from scoring.features.event import Event
from scoring.features.store import (
    NEVER_SEEN,
    TRIM_EVERY,
    TRIM_HORIZON,
    cold_fields,
    first_seen_ids,
    fmt_float,
    payload_to_snapshot,
    replayed_snapshot,
    seen_value,
    to_milli,
)


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
    # Per first-seen key: "-" unchanged, "n" first time, "i" one more at that time, or the
    # (ts, n) it lowered (observe.lua's marks).
    first: dict[str, str | tuple[float, int]] = field(default_factory=dict)


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
        # When each entity was first seen: key → (ts, events at exactly ts).
        self._first: dict[str, tuple[float, int]] = {}
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
                return replayed_snapshot(cached, event)
            undo = _Undo()
            payload = "|".join(self._observe(event, scope, undo))
            self._seen[seen_key] = seen_value(event, payload)
            self._undo[seen_key] = undo
            if len(self._undo) > UNDO_KEPT:
                del self._undo[next(iter(self._undo))]
        return payload_to_snapshot(payload, event, replayed=False)

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
        counts: dict[str, int] = {}  # each entity's events, this one included
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
            counts[entity] = series.cum_counts[-1]
        if event.card_id is not None:
            card, trim = event.card_id, _trims(counts, "card")
            out.append(
                self._distinct_add(f"{scope}:m:{card}", event.merchant_id, event, undo, trim)
            )
            country = event.country or ""
            out.append(self._distinct_add(f"{scope}:c:{card}", country, event, undo, trim))
        else:
            out += ["", ""]
        key = f"{scope}:{event.customer_id}"
        profile = self._profiles.get(key) or self._profiles.setdefault(key, _Profile())
        out += self._profile_update(profile, event, amount, undo)
        out.append(self._country_seen(profile, event, undo))
        trim = _trims(counts, "device")
        out.append(self._device_cards(f"{scope}:dc:{event.device_id}", event, undo, trim))
        out += self._payee_payers(f"{scope}:{event.payee_id}", event, undo)
        if self._cold_as_of is None:
            out += ["", "", "", "", ""]
        else:
            out.append(fmt_float(self._cold_as_of))
            out += [self._cold.get(name, "") for name in cold_fields(event, scope)]
        for first_key in _first_keys(event, scope):
            out.append("" if first_key is None else self._first_seen(first_key, event.ts, undo))
        return out

    def _first_seen(self, key: str, ts: float, undo: _Undo) -> str:
        """observe.lua's first-seen step: the earliest time at or before ``ts``, then record."""
        state = self._first.get(key)
        seen = NEVER_SEEN if state is None or state[0] > ts else fmt_float(state[0])
        if state is None:
            self._first[key], undo.first[key] = (ts, 1), "n"
        elif ts < state[0]:
            self._first[key], undo.first[key] = (ts, 1), state
        elif ts == state[0]:
            self._first[key], undo.first[key] = (ts, state[1] + 1), "i"
        else:
            undo.first[key] = "-"
        return seen

    def _first_forget(self, key: str, ts: float, mark: str | tuple[float, int]) -> None:
        """forget.lua's first-seen step."""
        state = self._first.get(key)
        if mark == "-" or state is None or state[0] != ts:
            return
        if state[1] > 1:
            self._first[key] = (ts, state[1] - 1)
        elif isinstance(mark, tuple):
            self._first[key] = mark
        else:
            del self._first[key]

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

    def _device_cards(self, key: str, event: Event, undo: _Undo, trim: bool) -> str:
        if event.device_id is None or event.card_id is None:
            return ""
        seen = self._distinct.setdefault(key, {})
        ts = event.ts
        n = sum(1 for last in seen.values() if ts - WINDOWS["1h"] < last <= ts)
        self._raise(key, event.card_id, ts, undo)
        if trim:
            _trim(seen, ts)
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
        _trim(recent, ts)  # a payee has no series to count its events: on each
        undo.first_payer = payer not in firsts
        firsts.setdefault(payer, ts)
        return [str(len(window)), str(new)]

    def _distinct_add(self, key: str, member: str, event: Event, undo: _Undo, trim: bool) -> str:
        seen = self._distinct.setdefault(key, {})
        ts = event.ts
        n = sum(1 for last in seen.values() if ts - LONGEST_WINDOW < last <= ts)
        if member:
            self._raise(key, member, ts, undo)
        if trim:
            _trim(seen, ts)
        return str(n)

    def _profile_update(
        self, profile: _Profile, event: Event, amount: int, undo: _Undo
    ) -> list[str]:
        stats = profile.stats
        undo.last_ts, undo.stats = profile.last_ts, stats
        last = "" if profile.last_ts is None else fmt_float(profile.last_ts)
        out = [last, str(stats.n), fmt_float(stats.mean), fmt_float(stats.m2)]
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
        for key, mark in undo.first.items():
            self._first_forget(key, event.ts, mark)
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


def _trims(counts: Mapping[str, int], entity: str) -> bool:
    """Whether the entity's distinct sets are trimmed now: on its TRIM_EVERY-th events."""
    return counts.get(entity, 0) % TRIM_EVERY == 0


def _trim(seen: dict[str, float], ts: float) -> None:
    for stale in [member for member, last in seen.items() if last < ts - TRIM_HORIZON]:
        del seen[stale]


def _first_keys(event: Event, scope: str) -> list[str | None]:
    """The first-seen key of each FIRST_SEEN_ENTITIES (None: the event has no such entity)."""
    return [
        f"{scope}:first:{entity}:{value}" if value else None
        for entity, value in zip(FIRST_SEEN_ENTITIES, first_seen_ids(event), strict=True)
    ]
