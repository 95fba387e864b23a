"""The live page's websocket: joins the session's group and relays what is broadcast to it."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


def session_group(session_id: int) -> str:
    return f"live-{session_id}"


class LiveSessionConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.group = session_group(int(self.scope["url_route"]["kwargs"]["session_id"]))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def live_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
