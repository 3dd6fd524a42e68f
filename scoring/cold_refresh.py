"""Publishing the cold-feature generation.

``cold_features_refresh`` computes the cold values as of the start of the current period from
the database (transactions before it, labels reported before it) and publishes them to the
online store as one generation; decisions record which generation they read. A Celery beat task
runs it (``fraudops/celery.py``); the embedded default runs it on a thread of the server.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from scoring import in_process
from scoring.features.cold import HISTORY_WINDOW, as_of_for
from scoring.features.online import OnlineStore
from scoring.replay import cold_history_load

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColdRefreshed:
    as_of: datetime
    entries: int
    seconds: float
    skipped: bool = False


def cold_features_refresh(
    *, store: OnlineStore, now: datetime | None = None, force: bool = False
) -> ColdRefreshed:
    """Publish the generation of the period ``now`` is in, unless ``store`` already has it."""
    started = time.perf_counter()
    as_of = as_of_for((now or timezone.now()).timestamp(), settings.COLD_FEATURES_PERIOD_SECONDS)
    until = datetime.fromtimestamp(as_of, UTC)
    current = store.cold_as_of()
    if not force and current is not None and current >= as_of:
        return ColdRefreshed(until, 0, time.perf_counter() - started, skipped=True)
    history = cold_history_load(since=until - timedelta(seconds=HISTORY_WINDOW), until=until)
    entries = store.cold_publish(as_of, history.entries(as_of))
    seconds = time.perf_counter() - started
    logger.warning("cold features as of %s: %d entries in %.1f s", until, entries, seconds)
    return ColdRefreshed(until, entries, seconds)


def cold_refresher_start(store: OnlineStore) -> threading.Thread:
    """The embedded default's beat: refresh the in-process store's generation on a thread."""
    return in_process.every(
        lambda: settings.COLD_FEATURES_CHECK_SECONDS,
        lambda: cold_features_refresh(store=store),
        name="cold-refresher",
        failure="cold feature refresh failed; the last generation stays",
    )
