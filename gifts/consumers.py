"""The live page's websocket: joins the session's group and relays what is broadcast to it.

On connect it sends a snapshot (recent feed, goal, board), so a page that loaded just before
a gift, or reconnected after a network drop, catches up without a reload.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from gifts.live_events import snapshot_event
from gifts.live_updates import session_group
from gifts.models import LiveSession


@database_sync_to_async
def _snapshot(session_id: int) -> dict[str, Any] | None:
    session = LiveSession.objects.select_related("goal_gift").filter(pk=session_id).first()
    return None if session is None else snapshot_event(session)


class LiveSessionConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        # Join before reading the snapshot: a gift committed in between arrives twice at
        # worst (pages drop gifts they already show), never not at all.
        group = session_group(session_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.group = group
        snapshot = await _snapshot(session_id)
        if snapshot is None:
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json(snapshot)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Viewers only listen; gifts are sent over HTTP so they pass the same checks."""

    async def live_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
