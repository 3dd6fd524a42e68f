"""WebSocket events: "case X changed", sent to the queue's group after the commit.

The page that receives one re-renders that case's row from the server; the message carries
nothing else a browser could be tempted to trust.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


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
    try:
        async_to_sync(layer.group_send)(group, dict(message))
    except Exception:
        # The change is committed; a page that missed it shows it on its next load.
        logger.exception("could not send %s to %s", message, group)
