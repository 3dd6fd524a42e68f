"""The embedded default's beat: periodic jobs on a thread of the server.

Without Redis there is no broker, so no Celery beat: the jobs beat runs in production run on a
daemon thread of the serving process instead (the cold-feature refresh, shadow scoring). One
mechanism for all of them: a failed run is logged and the next one tries again, and the
thread's database connection is closed after each run (a long-lived thread must not keep one
the server may have lost).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections

logger = logging.getLogger(__name__)


def every(
    seconds: Callable[[], float], job: Callable[[], object], *, name: str, failure: str
) -> threading.Thread:
    """Run ``job`` now and then every ``seconds()`` (read before each wait, so a changed
    setting takes effect) on a daemon thread called ``name``; ``failure`` is logged with the
    traceback of a run that raised."""

    def loop() -> None:
        while True:
            try:
                job()
            except Exception:
                logger.exception(failure)
            finally:
                close_old_connections()
            time.sleep(seconds())

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
