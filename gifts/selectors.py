"""Reads for gifts: the catalogue, live sessions, feeds, goal progress and top-gifter boards.

Boards are aggregates over `GiftSend` (never a separate counter), so a board always equals
the sums of the gifts behind it; each runs as an index-only scan of a covering index.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Literal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from coinsite.db import prepared_cursor
from creators.models import Creator
from gifts.models import ChatMessage, Gift, GiftSend, LiveSession, RoomBan, RoomModerator, RoomRules
from wallet.models import public_name

BOARD_SIZE = 5
FEED_SIZE = 30
CHAT_HISTORY_SIZE = 50  # what a page that joins late is shown of the chat


@dataclass(frozen=True)
class Gifter:
    user_id: int
    name: str
    coins: int


@dataclass(frozen=True)
class Goal:
    gift_name: str
    emoji: str
    target: int
    progress: int

    @property
    def percent(self) -> int:
        return min(100, self.progress * 100 // self.target) if self.target else 0


@dataclass(frozen=True)
class SessionState:
    """What every viewer of a session sees besides the feed. `version` is the number of gifts
    counted: gifts are only ever added, so a larger version is a newer state."""

    version: int
    total_coins: int
    goal: Goal | None
    board: list[Gifter] = field(default_factory=list)


def staff_dashboard_figures(since: datetime.datetime) -> dict[str, int]:
    """Gifts since `since`, for the staff dashboard."""
    today = GiftSend.objects.filter(created_at__gte=since).aggregate(n=Count("id"), coins=Sum("coins"))
    return {"gifts": int(today["n"] or 0), "gift_coins": int(today["coins"] or 0)}


def active_gifts() -> QuerySet[Gift]:
    return Gift.objects.filter(active=True).order_by("sort_order", "coins")


def live_sessions() -> QuerySet[LiveSession]:
    return (
        LiveSession.objects.filter(status=LiveSession.Status.LIVE)
        .select_related("creator", "goal_gift")
        .order_by("-started_at")
    )


def live_session_of(*, creator_id: int) -> LiveSession | None:
    return live_sessions().filter(creator_id=creator_id).first()


def recent_gifts(*, session_id: int, limit: int = FEED_SIZE) -> list[GiftSend]:
    """The session's newest gifts, newest first."""
    return list(
        GiftSend.objects.filter(session_id=session_id)
        .select_related("gift", "sender")
        .order_by("-id")[:limit]
    )


_BOARD_COLUMNS = {"session": "session_id", "creator": "creator_id", "post": "post_id"}


def _board(scope: Literal["session", "creator", "post"], scope_id: int, limit: int | None) -> list[Gifter]:
    column = _BOARD_COLUMNS[scope]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.sender_id, b.coins, wallet_display_name(b.sender_id)
              FROM (SELECT sender_id, sum(coins) AS coins FROM gifts_giftsend WHERE {column} = %s
                     GROUP BY sender_id ORDER BY 2 DESC, 1 LIMIT %s) b
             ORDER BY b.coins DESC, b.sender_id
            """,
            [scope_id, limit],
        )
        rows = cursor.fetchall()
    return [Gifter(user_id=uid, name=public_name(dn, uid), coins=int(coins)) for uid, coins, dn in rows]


def session_board(*, session_id: int, limit: int | None = BOARD_SIZE) -> list[Gifter]:
    """Top gifters of one live session by coins gifted (`limit=None`: everyone)."""
    return _board("session", session_id, limit)


def creator_board(*, creator_id: int, limit: int | None = BOARD_SIZE) -> list[Gifter]:
    """Top gifters of a creator of all time, live sessions and posts together."""
    return _board("creator", creator_id, limit)


def post_board(*, post_id: int, limit: int | None = BOARD_SIZE) -> list[Gifter]:
    return _board("post", post_id, limit)


def session_state(*, session: LiveSession, board_size: int = BOARD_SIZE) -> SessionState:
    """Goal progress, totals and the top-gifter board of a session in one query (one index scan)."""
    return session_states([session], board_size=board_size)[session.pk]


def session_states(sessions: list[LiveSession], *, board_size: int = BOARD_SIZE) -> dict[int, SessionState]:
    """`session_state` of many sessions in one query (the live broadcaster's batch): an
    index-only scan of each session's gifts. `sessions` come with their goal gift loaded."""
    if not sessions:
        return {}
    with prepared_cursor() as cursor:
        # Window functions over each session's senders give its totals before the board is
        # cut to `board_size`.
        cursor.execute(
            """
            SELECT b.session_id, b.sender_id, b.coins, b.sends, b.total_coins, b.goal_progress,
                   wallet_display_name(b.sender_id)  -- looked up per board row
              FROM (SELECT s.id AS session_id, p.sender_id, p.coins,
                           sum(p.sends) OVER w AS sends,
                           sum(p.coins) OVER w AS total_coins,
                           sum(p.goal) OVER w AS goal_progress,
                           row_number() OVER (PARTITION BY s.id ORDER BY p.coins DESC, p.sender_id) AS place
                      FROM unnest(%s::bigint[], %s::bigint[]) AS s(id, goal_gift_id)
                      -- LATERAL: each session's gifts through its index, whatever the table's size
                      -- or statistics (a hash join read the whole table for a batch of sessions).
                     CROSS JOIN LATERAL (
                           SELECT g.sender_id, sum(g.coins) AS coins, count(*) AS sends,
                                  coalesce(sum(g.count) FILTER (WHERE g.gift_id = s.goal_gift_id), 0) AS goal
                             FROM gifts_giftsend g
                            WHERE g.session_id = s.id
                            GROUP BY g.sender_id) p
                    WINDOW w AS (PARTITION BY s.id)) b
             WHERE b.place <= %s
             ORDER BY b.session_id, b.place
            """,
            [[s.pk for s in sessions], [s.goal_gift_id for s in sessions], board_size],
        )
        rows = cursor.fetchall()
    by_session: dict[int, list[tuple]] = {}
    for row in rows:
        by_session.setdefault(row[0], []).append(row)
    states = {}
    for session in sessions:
        found = by_session.get(session.pk, [])
        version, total_coins, goal_progress = (int(v) for v in found[0][3:6]) if found else (0, 0, 0)
        goal = None
        if session.has_goal and session.goal_gift is not None and session.goal_count:
            goal = Goal(
                gift_name=session.goal_gift.name,
                emoji=session.goal_gift.emoji,
                target=session.goal_count,
                progress=goal_progress,
            )
        board = [
            Gifter(user_id=uid, name=public_name(dn, uid), coins=int(coins))
            for _, uid, coins, _, _, _, dn in found
        ]
        states[session.pk] = SessionState(version=version, total_coins=total_coins, goal=goal, board=board)
    return states


# ---------------------------------------------------------------- the live room


def recent_chat(*, session_id: int, limit: int = CHAT_HISTORY_SIZE) -> list[ChatMessage]:
    """The session's latest messages that are not deleted, newest first."""
    return list(
        ChatMessage.objects.select_related("author")
        .filter(session_id=session_id, deleted_at__isnull=True)
        .order_by("-id")[:limit]
    )


def room_rules(*, creator_id: int) -> RoomRules:
    """The creator's chat rules; the defaults (no slow mode, no links, no blocked words) if never set."""
    return RoomRules.objects.filter(creator_id=creator_id).first() or RoomRules(creator_id=creator_id)


def blocked_words(rules: RoomRules) -> list[str]:
    return [w.strip().casefold() for w in rules.blocked_words.splitlines() if w.strip()]


def can_moderate(*, user: object, creator: Creator) -> bool:
    """The creator and the moderators they appointed moderate the chat of the creator's rooms."""
    user_id = getattr(user, "pk", None)
    if user_id is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        user_id == creator.user_id or RoomModerator.objects.filter(creator=creator, user_id=user_id).exists()
    )


def active_ban(*, creator_id: int, user_id: int) -> RoomBan | None:
    """The ban or the running timeout that keeps the user out of the creator's chat, if any."""
    return (
        RoomBan.objects.filter(creator_id=creator_id, user_id=user_id)
        .filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
        .first()
    )
