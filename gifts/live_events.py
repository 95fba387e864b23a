"""What a live page's websocket receives: the JSON of each event.

- `snapshot`: sent on connect: status, the recent feed and the session state.
- `gifts`: gifts committed since the last batch (oldest first; at most `MAX_GIFTS_PER_EVENT`,
  `skipped` counts the older ones left out), with the session state computed after them
  (goal progress, totals, top-gifter board), or `state: null` when a `state` event follows.
- `state`: the session state alone.
- `ended`: the creator ended the session.
- `room`: what happened in the room since the last batch when no gift did: chat messages
  (oldest first), ids of deleted messages, users just timed out or banned (`kept_out`: user id
  and what their pages tell them), the session's like total and viewer count (each null when
  unchanged). A `gifts` event carries the same under its `room` key when both happened,
  so a batch is one event per session.
- `chat_refused` (to one page only): why its message or moderation action was refused.

The state's `version` is the number of gifts it counts; gifts are only ever added, so pages
keep the highest version they saw (two broadcasts can arrive out of order).

`gift_send_data` is also the gift a send request answers with (the API and the live page).
When and how the events are sent is `gifts.live_updates`.
"""

from __future__ import annotations

from typing import Any

from gifts import selectors
from gifts.models import ChatMessage, Gift, GiftSend, LiveSession

MAX_GIFTS_PER_EVENT = 50  # a page's feed shows 50; older gifts of a batch only count in the state


def gift_data(gift: Gift) -> dict[str, Any]:
    return {
        "id": gift.pk,
        "name": gift.name,
        "emoji": gift.emoji,
        "coins": gift.coins,
        "image": gift.image.url if gift.image else "",
        "tier": gift.animation_tier,
    }


def gift_send_data(gift_send: GiftSend) -> dict[str, Any]:
    return {
        "id": gift_send.pk,
        "sender": gift_send.sender.public_name,
        "gift": gift_data(gift_send.gift),
        "count": gift_send.count,
        "coins": gift_send.coins,
        "created_at": gift_send.created_at.isoformat(),
    }


def state_data(state: selectors.SessionState) -> dict[str, Any]:
    goal = state.goal
    return {
        "version": state.version,
        "total_coins": state.total_coins,
        "goal": None
        if goal is None
        else {
            "gift": goal.gift_name,
            "emoji": goal.emoji,
            "target": goal.target,
            "progress": goal.progress,
            "percent": goal.percent,
        },
        "board": [{"name": g.name, "coins": g.coins} for g in state.board],
    }


def chat_message_data(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "author": message.author.public_name,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
    }


def snapshot_event(
    session: LiveSession,
    *,
    likes: int | None = None,
    viewers: int | None = None,
    you: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`likes` and `viewers` come from `gifts.presence`; `you` is what the page's user may do."""
    return {
        "type": "snapshot",
        "status": session.status,
        "feed": [gift_send_data(g) for g in selectors.recent_gifts(session_id=session.pk)],
        "state": state_data(selectors.session_state(session=session)),
        "chat": [chat_message_data(m) for m in selectors.recent_chat(session_id=session.pk)],
        "likes": likes,
        "viewers": viewers,
        "you": you or {"user": None, "signed_in": False, "moderator": False, "creator": False},
    }


def room_data(
    *,
    chat: list[dict[str, Any]],
    deleted: list[int],
    likes: int | None,
    viewers: int | None,
    kept_out: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "chat": chat[-MAX_GIFTS_PER_EVENT:],
        "deleted": deleted,
        "kept_out": kept_out or [],
        "likes": likes,
        "viewers": viewers,
    }


def room_event(room: dict[str, Any]) -> dict[str, Any]:
    return {"type": "room", **room}


def chat_refused_event(message: str, code: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "chat_refused", "message": message, "code": code, "extra": extra or {}}


def gifts_event(gift_sends: list[dict[str, Any]], state: selectors.SessionState | None) -> dict[str, Any]:
    """A batch of one session's gifts (`gift_send_data`, oldest first) and, if computed, its state."""
    return {
        "type": "gifts",
        "gift_sends": gift_sends[-MAX_GIFTS_PER_EVENT:],
        "skipped": max(0, len(gift_sends) - MAX_GIFTS_PER_EVENT),
        "state": None if state is None else state_data(state),
    }


def state_event(state: selectors.SessionState) -> dict[str, Any]:
    return {"type": "state", "state": state_data(state)}


def ended_event(session: LiveSession) -> dict[str, Any]:
    return {"type": "ended", "ended_at": session.ended_at.isoformat() if session.ended_at else None}
