"""WebSocket routes."""

from __future__ import annotations

from typing import Any

from django.urls import path

from cases.consumers import CasePresenceConsumer, QueueConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/queues/", QueueConsumer.as_asgi()),
    path("ws/cases/<int:case_id>/", CasePresenceConsumer.as_asgi()),
]
