"""Reads for gifts: the catalogue, live sessions, feeds, goal progress and top-gifter boards.

Boards are aggregates over `GiftSend` (never a separate counter), so a board always equals
the sums of the gifts behind it; each runs as an index-only scan of a covering index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from django.db import connection
from django.db.models import QuerySet

from gifts.models import Gift, GiftSend, LiveSession
from wallet.models import User

BOARD_SIZE = 5
FEED_SIZE = 30


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


def _public_name(display_name: str, email: str) -> str:
    return User(display_name=display_name, email=email).public_name


_BOARD_COLUMNS = {"session": "session_id", "creator": "creator_id", "post": "post_id"}


def _board(scope: Literal["session", "creator", "post"], scope_id: int, limit: int | None) -> list[Gifter]:
    column = _BOARD_COLUMNS[scope]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.sender_id, b.coins, u.display_name, u.email
              FROM (SELECT sender_id, sum(coins) AS coins FROM gifts_giftsend WHERE {column} = %s
                     GROUP BY sender_id ORDER BY 2 DESC, 1 LIMIT %s) b
              JOIN wallet_user u ON u.id = b.sender_id
             ORDER BY b.coins DESC, b.sender_id
            """,
            [scope_id, limit],
        )
        rows = cursor.fetchall()
    return [
        Gifter(user_id=uid, name=_public_name(dn, email), coins=int(coins)) for uid, coins, dn, email in rows
    ]


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
    with connection.cursor() as cursor:
        # Window functions over the grouped rows give the totals of all senders before LIMIT.
        cursor.execute(
            """
            SELECT b.sender_id, b.coins, b.sends, b.total_coins, b.goal_progress, u.display_name, u.email
              FROM (SELECT sender_id, sum(coins) AS coins,
                           sum(count(*)) OVER () AS sends,
                           sum(sum(coins)) OVER () AS total_coins,
                           sum(COALESCE(sum(count) FILTER (WHERE gift_id = %s), 0)) OVER () AS goal_progress
                      FROM gifts_giftsend WHERE session_id = %s
                     GROUP BY sender_id ORDER BY 2 DESC, 1 LIMIT %s) b
              JOIN wallet_user u ON u.id = b.sender_id
             ORDER BY b.coins DESC, b.sender_id
            """,
            [session.goal_gift_id, session.pk, board_size],
        )
        rows = cursor.fetchall()
    version = int(rows[0][2]) if rows else 0
    total_coins = int(rows[0][3]) if rows else 0
    goal_progress = int(rows[0][4]) if rows else 0
    goal = None
    if session.has_goal and session.goal_gift is not None and session.goal_count:
        goal = Goal(
            gift_name=session.goal_gift.name,
            emoji=session.goal_gift.emoji,
            target=session.goal_count,
            progress=goal_progress,
        )
    board = [
        Gifter(user_id=uid, name=_public_name(dn, email), coins=int(coins))
        for uid, coins, _, _, _, dn, email in rows
    ]
    return SessionState(version=version, total_coins=total_coins, goal=goal, board=board)
