"""WebSocket routes (the analyst queue consumers join here)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
