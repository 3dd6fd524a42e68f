"""One line when a dependency goes down, one when it comes back: not a traceback per request.

An :class:`Outage` follows one dependency (the feature store, the API-key cache, the channel
layer) in this process. The code that calls the dependency reports each call with
:meth:`~Outage.succeeded` or :meth:`~Outage.failed`; the tracker logs the transitions only::

    feature store unavailable since 2026-11-24T10:15:02Z (pid 412): Timeout reading from socket
    feature store available again (pid 412): down 5.1 s since 2026-11-24T10:15:02Z,
        312 decisions degraded

A dependency with a fallback (the cache: the database answers; the channel layer: a page shows
the change on its next load) can also be skipped while it is down: with ``probe_every`` set,
:meth:`~Outage.should_try` lets one call through per period to find out whether it is back,
and the others go straight to the fallback (report them with :meth:`~Outage.skipped`), so a
hung Redis costs one timeout per period instead of one per request.

Plain Python, thread-safe, per process (each gunicorn worker logs its own outages, with its
pid). The state is also exported as the ``fraudops_dependency_up`` gauge.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from scoring import metrics

logger = logging.getLogger(__name__)


class Outage:
    """Whether one dependency is down in this process, and what its outage has cost so far.

    ``consequence`` names what each failed or skipped call cost, for the closing line
    ("decisions degraded"). ``probe_every`` (seconds) enables skipping while down.
    """

    def __init__(
        self,
        name: str,
        *,
        consequence: str,
        probe_every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        log: logging.Logger = logger,
    ) -> None:
        self.name = name
        self.consequence = consequence
        self._probe_every = probe_every
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()
        self._down = False
        self._since_wall = ""
        self._since = 0.0
        self._last_try = 0.0
        self._count = 0
        self._skips = 0
        metrics.dependency_up_set(name, up=True)

    @property
    def down(self) -> bool:
        return self._down

    @property
    def probe_every(self) -> float | None:
        return self._probe_every

    @property
    def skips(self) -> int:
        """Calls not made at all in the current outage (no time spent waiting on them)."""
        return self._skips

    @property
    def count(self) -> int:
        """Calls failed or skipped in the current outage (0 when up)."""
        return self._count

    def should_try(self) -> bool:
        """True when up; while down, True once per ``probe_every`` (always, without it)."""
        if not self._down or self._probe_every is None:
            return True
        with self._lock:
            now = self._clock()
            if now - self._last_try < self._probe_every:
                return False
            self._last_try = now
            return True

    def failed(self, error: object) -> None:
        """A call failed: the first of an outage logs it, the others are only counted."""
        with self._lock:
            self._count += 1
            self._last_try = self._clock()
            if self._down:
                return
            self._down = True
            self._since = self._last_try
            self._since_wall = since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        metrics.dependency_up_set(self.name, up=False)
        self._log.error(
            "%s unavailable since %s (pid %d): %s", self.name, since, os.getpid(), _describe(error)
        )

    def skipped(self) -> None:
        """A call was not made because the dependency is down; it counts as failed."""
        with self._lock:
            self._count += 1
            self._skips += 1

    def succeeded(self) -> None:
        """A call worked: if the dependency was down, log the outage's end and its cost."""
        if not self._down:  # the healthy path takes no lock
            return
        with self._lock:
            if not self._down:
                return
            self._down = False
            count, self._count, self._skips = self._count, 0, 0
            seconds, since = self._clock() - self._since, self._since_wall
        metrics.dependency_up_set(self.name, up=True)
        self._log.warning(
            "%s available again (pid %d): down %.1f s since %s, %d %s",
            self.name,
            os.getpid(),
            seconds,
            since,
            count,
            self.consequence,
        )


def _describe(error: object) -> str:
    # A timeout's message is often empty: its type says what happened.
    if isinstance(error, BaseException):
        return str(error) or type(error).__name__
    return str(error)
