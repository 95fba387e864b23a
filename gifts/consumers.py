"""The live page's websocket: joins the session's group and relays what is broadcast to it.

On connect it sends a snapshot (recent feed, chat history, goal, board, likes, viewers), so a
page that loaded just before a gift, or reconnected after a network drop, catches up without
a reload. The page writes the room over the same socket: chat messages and moderation actions
(each one service call in `gifts.chat`; a refusal comes back to this page alone as a
`chat_refused` event), like taps and presence heartbeats. Gifts are sent over HTTP so they
pass the same checks as the API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from gifts import chat, live_events, presence, selectors
from gifts.errors import UNKNOWN_ROOM_ACTION
from gifts.live_updates import broadcaster, session_group
from gifts.models import LiveSession
from wallet.errors import CoinSiteError, InvalidRequest

# Like taps per connection: a burst of LIKE_BURST, then LIKES_PER_SECOND (a fast thumb taps
# about ten a second); a script's extra taps are dropped, so no one page inflates the count.
LIKE_BURST = 200
LIKES_PER_SECOND = 20


@database_sync_to_async
def _snapshot(session_id: int, user: Any) -> dict[str, Any] | None:
    session = LiveSession.objects.select_related("goal_gift", "creator").filter(pk=session_id).first()
    if session is None:
        return None
    signed_in = bool(getattr(user, "is_authenticated", False))
    you = {
        "user": user.pk if signed_in else None,
        "signed_in": signed_in,
        "moderator": selectors.can_moderate(user=user, creator=session.creator),
        "creator": signed_in and user.pk == session.creator.user_id,
    }
    return live_events.snapshot_event(
        session, likes=presence.like_count(session_id), viewers=presence.viewer_count(session_id), you=you
    )


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(UNKNOWN_ROOM_ACTION)
    return value


# What a page may ask, by the `type` of its message: (user, session id, message) -> a service call.
ROOM_ACTIONS: dict[str, Callable[[Any, int, dict[str, Any]], object]] = {
    "chat": lambda user, session_id, m: chat.post_message(
        author=user, session_id=session_id, text=str(m.get("text", ""))
    ),
    "delete": lambda user, session_id, m: chat.delete_message(actor=user, message_id=_int(m.get("message"))),
    "timeout": lambda user, session_id, m: chat.time_out_author(
        actor=user, message_id=_int(m.get("message")), minutes=_int(m.get("minutes"))
    ),
    "ban": lambda user, session_id, m: chat.ban_author(actor=user, message_id=_int(m.get("message"))),
    "appoint": lambda user, session_id, m: chat.appoint_moderator_of_author(
        actor=user, message_id=_int(m.get("message"))
    ),
}


@database_sync_to_async
def _room_action(action: str, user: Any, session_id: int, message: dict[str, Any]) -> None:
    ROOM_ACTIONS[action](user, session_id, message)


class LiveSessionConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    session_id: int = 0
    counted = False  # in the viewer count; the OBS overlay (`?role=overlay`) is not a viewer
    like_allowance = float(LIKE_BURST)
    like_checked_at = 0.0

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        # Join before reading the snapshot: a gift committed in between arrives twice at
        # worst (pages drop gifts they already show), never not at all.
        group = session_group(self.session_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.group = group
        self.counted = b"role=overlay" not in self.scope.get("query_string", b"").split(b"&")
        if self.counted:
            await sync_to_async(presence.here, thread_sensitive=False)(self.session_id, self.channel_name)
        snapshot = await _snapshot(self.session_id, self.scope.get("user"))
        if snapshot is None:
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json(snapshot)
        if self.counted:
            broadcaster.presence_changed(self.session_id)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.group is not None and self.counted:
            await sync_to_async(presence.gone, thread_sensitive=False)(self.session_id, self.channel_name)
            broadcaster.presence_changed(self.session_id)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "heartbeat" and self.counted:
            await sync_to_async(presence.here, thread_sensitive=False)(self.session_id, self.channel_name)
        elif kind == "like":
            taps = content.get("taps")
            if isinstance(taps, int) and not isinstance(taps, bool) and taps > 0:
                accepted = self._allowed_taps(taps)
                if accepted:
                    broadcaster.likes(self.session_id, accepted)
        elif kind in ROOM_ACTIONS:
            try:
                await _room_action(kind, self.scope.get("user"), self.session_id, content)
            except CoinSiteError as refused:
                await self.send_json(
                    live_events.chat_refused_event(
                        refused.message, refused.code, refused.extra | {"action": kind}
                    )
                )

    def _allowed_taps(self, taps: int) -> int:
        now = time.monotonic()
        if self.like_checked_at:
            self.like_allowance = min(
                float(LIKE_BURST), self.like_allowance + (now - self.like_checked_at) * LIKES_PER_SECOND
            )
        self.like_checked_at = now
        accepted = min(taps, int(self.like_allowance))
        self.like_allowance -= accepted
        return accepted

    async def live_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
