"""WebSocket events: "case X changed", sent to the queue's group after the commit.

The page that receives one re-renders that case's row from the server; the message carries
nothing else a browser could be tempted to trust.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypedDict

import redis
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction

from scoring.outage import Outage

logger = logging.getLogger(__name__)

# Events are sent from the request that changed the case (a decision that opens one, too), so
# while the layer is down they are dropped without waiting; one every 2 s tries the layer again.
CHANNEL_OUTAGE = Outage("channel layer", consequence="case events not sent", probe_every=2.0)
# What a hung or unreachable Redis raises under the send's time bound.
_UNAVAILABLE = (TimeoutError, redis.RedisError, OSError)


class CaseChanged(TypedDict):
    type: str  # "case.changed": the consumer's handler
    case_id: int
    status: str
    assignee: str


def queue_group(queue_id: int) -> str:
    return f"queue-{queue_id}"


def case_changed_on_commit(*, case_id: int, queue_id: int, status: str, assignee: str) -> None:
    message: CaseChanged = {
        "type": "case.changed",
        "case_id": case_id,
        "status": status,
        "assignee": assignee,
    }
    transaction.on_commit(lambda: _send(queue_group(queue_id), message))


def _send(group: str, message: CaseChanged) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # The change is committed; a page that missed the event shows it on its next load.
    if not CHANNEL_OUTAGE.should_try():
        CHANNEL_OUTAGE.skipped()
        return
    try:
        SEND_LOOP.run(_group_send(layer, group, dict(message)))
    except _UNAVAILABLE as exc:
        CHANNEL_OUTAGE.failed(exc)
    except Exception:
        logger.exception("could not send %s to %s", message, group)
    else:
        CHANNEL_OUTAGE.succeeded()


async def _group_send(layer: BaseChannelLayer, group: str, message: dict[str, Any]) -> None:
    # The layer's own socket timeout is long (its consumers block on purpose): bound the send.
    async with asyncio.timeout(settings.CHANNEL_SEND_TIMEOUT_SECONDS):
        await layer.group_send(group, message)


class _SendLoop:
    """One event loop per process, on a thread of its own, that every send runs on.

    ``async_to_sync`` (what channels' documentation shows for sync code) makes a new event
    loop and a new thread for each call when none is running, and channels_redis opens a
    connection per loop, closed with it: a case event cost a loop, a thread and a Redis
    connection, about 5 ms of CPU. Kept here, the loop keeps its connection too.

    The loop starts at the first send, and again in a forked child (a loop thread does not
    survive ``fork``, e.g. gunicorn's preload).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` on the loop and wait for it; its exception is raised here.

        The coroutine bounds itself (``asyncio.timeout``); in case it cannot (the loop is
        stuck), waiting is bounded too, by a second more, and then raises TimeoutError.
        """
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running())
        try:
            future.result(timeout=settings.CHANNEL_SEND_TIMEOUT_SECONDS + 1.0)
        except TimeoutError:
            future.cancel()
            raise

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="case-events", daemon=True)
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


SEND_LOOP = _SendLoop()
