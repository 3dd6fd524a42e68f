"""WebSocket consumers: authenticate, join the groups of the user's queues, relay.

Nothing is decided here: a message only says which case changed, and the page asks the server
for that case's row. A page subscribes to the queues the user works when it connects; a queue
created or reassigned later is picked up when the page reconnects or reloads.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cases.events import queue_group
from cases.presence import case_group, viewer_here, viewer_left
from cases.roles import can_work
from cases.selectors import case_visible, queue_ids_of

# A close code in the application range (4000-4999) that says "forbidden" like HTTP 403.
FORBIDDEN = 4403


def _groups_of(user: Any) -> list[str] | None:
    """The groups of the user's queues; None when the user may not see cases."""
    if not can_work(user):
        return None
    return [queue_group(pk) for pk in queue_ids_of(user)]


_groups_for = database_sync_to_async(_groups_of)


class QueueConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        groups = None if user is None else await _groups_for(user)
        if groups is None:
            # Closing before accepting refuses the handshake (HTTP 403).
            await self.close(code=FORBIDDEN)
            return
        self.queue_groups = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "queue_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def case_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"case_id": event["case_id"], "status": event["status"], "assignee": event["assignee"]}
        )


# --- presence on a case page -------------------------------------------------------------


def _may_view(user: Any, case_id: int) -> bool:
    return can_work(user) and case_visible(user=user, case_id=case_id) is not None


class CasePresenceConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Who is looking at a case: joins the case's group and tells everyone in it."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.case_id = int(self.scope["url_route"]["kwargs"]["case_id"])
        if user is None or not await database_sync_to_async(_may_view)(user, self.case_id):
            await self.close(code=FORBIDDEN)
            return
        self.username = user.get_username()
        await self.channel_layer.group_add(case_group(self.case_id), self.channel_name)
        await self.accept()
        await self._announce(here=True)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "heartbeat":
            await self._announce(here=True)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "username"):
            await self._announce(here=False)
            await self.channel_layer.group_discard(case_group(self.case_id), self.channel_name)

    async def _announce(self, *, here: bool) -> None:
        update = viewer_here if here else viewer_left
        # The cache client is synchronous (Redis in production): off the event loop.
        viewers = await database_sync_to_async(update)(case_id=self.case_id, username=self.username)
        await self.channel_layer.group_send(
            case_group(self.case_id), {"type": "presence.changed", "viewers": viewers}
        )

    async def presence_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({"viewers": event["viewers"]})
