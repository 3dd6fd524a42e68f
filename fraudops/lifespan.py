"""The ASGI lifespan protocol: the process warms its serving path before it accepts a request.

uvicorn (and gunicorn's ASGI worker) run the start-up of the lifespan before they accept a
connection, so the in-process feature store holds its history before the first decision. A
warm-up that fails stops the start: a server deciding without history would decide wrongly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

from scoring import serving
from scoring.shadow import shadow_filler_start

logger = logging.getLogger(__name__)

Message = dict[str, Any]


def _warm_up() -> None:
    try:
        serving.warm_up()
        # The embedded default's shadow worker (nothing with a broker: beat does it there).
        shadow_filler_start()
    finally:
        # The warm-up ran on a thread of its own: leave no connection open behind it.
        connections.close_all()


async def lifespan(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Warm up on ``lifespan.startup``; nothing to release on ``lifespan.shutdown``."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await sync_to_async(_warm_up, thread_sensitive=False)()
            except Exception as exc:
                logger.exception("warm-up failed: the server does not start")
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
