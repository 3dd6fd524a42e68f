"""Who is viewing a case page right now, for "who else is looking".

A page says it is here when it connects and on every heartbeat (every 30 s), and that it left
when it disconnects; someone silent for ``PRESENCE_TTL`` seconds no longer counts. Kept in the
cache (Redis in production, so every server process sees the same viewers). Two updates at
the same instant can lose one; the next heartbeat puts it back: good enough for its use.
"""

from __future__ import annotations

import time

from django.core.cache import cache

PRESENCE_TTL = 90  # seconds without a heartbeat before someone no longer counts as viewing


def case_group(case_id: int) -> str:
    """The channel-layer group of the pages viewing a case."""
    return f"case-{case_id}"


def viewer_here(*, case_id: int, username: str, now: float | None = None) -> list[str]:
    """``username`` is viewing the case (arrived, or still there); everyone viewing, sorted."""
    return _update(case_id, username, here=True, now=now)


def viewer_left(*, case_id: int, username: str, now: float | None = None) -> list[str]:
    """``username`` left the case page; everyone still viewing, sorted."""
    return _update(case_id, username, here=False, now=now)


def _key(case_id: int) -> str:
    return f"presence:case:{case_id}"


def _update(case_id: int, username: str, *, here: bool, now: float | None) -> list[str]:
    seen_at = time.time() if now is None else now
    viewers: dict[str, float] = cache.get(_key(case_id)) or {}
    viewers = {name: seen for name, seen in viewers.items() if seen_at - seen < PRESENCE_TTL}
    if here:
        viewers[username] = seen_at
    else:
        viewers.pop(username, None)
    cache.set(_key(case_id), viewers, PRESENCE_TTL)
    return sorted(viewers)
