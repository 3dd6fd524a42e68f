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
from cases.roles import can_work
from cases.services import queues_of

# A close code in the application range (4000-4999) that says "forbidden" like HTTP 403.
FORBIDDEN = 4403


def _groups_of(user: Any) -> list[str] | None:
    """The groups of the user's queues; None when the user may not see cases."""
    if not can_work(user):
        return None
    return [queue_group(pk) for pk in queues_of(user).values_list("pk", flat=True)]


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
