"""Who watches a live session, and how many likes it got: two Redis keys per session.

- Viewers: a sorted set of the session's open websockets (channel names) scored by when each
  expires. A page heartbeats every `HEARTBEAT_SECONDS`; a closed tab is removed at once, a
  dead connection drops out when its score passes (`PRESENCE_TTL`), so the count never keeps
  a viewer who left.
- Likes: one counter, incremented once per broadcaster batch with the taps of that batch
  (`gifts.live_updates`), never once per tap; kept for `LIKES_TTL` after the last like.

Redis down: counts answer None and writes are dropped (the room shows no count until it is back).
"""

from __future__ import annotations

import logging
import time
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10  # static/js/chat.js sends a heartbeat this often
PRESENCE_TTL = 30  # seconds a connection counts after its last heartbeat
LIKES_TTL = 7 * 24 * 3600  # a session's like count is kept a week after its last like


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )


def _key(session_id: int, what: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'coinsite')}:live:{session_id}:{what}"


def here(session_id: int, connection: str) -> None:
    """A page joined, or heartbeats: it counts for `PRESENCE_TTL` more seconds."""
    key = _key(session_id, "viewers")
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.zadd(key, {connection: time.time() + PRESENCE_TTL})
        pipe.expire(key, PRESENCE_TTL * 2)
        pipe.execute()
    except redis.RedisError:
        logger.warning("presence not recorded", exc_info=True)


def gone(session_id: int, connection: str) -> None:
    try:
        _client().zrem(_key(session_id, "viewers"), connection)
    except redis.RedisError:
        logger.warning("presence not removed", exc_info=True)


def viewer_count(session_id: int) -> int | None:
    key = _key(session_id, "viewers")
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zcard(key)
        return int(pipe.execute()[1])
    except redis.RedisError:
        logger.warning("viewer count not read", exc_info=True)
        return None


def add_likes(session_id: int, taps: int) -> int | None:
    """Add a batch of taps; the session's new total."""
    key = _key(session_id, "likes")
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.incrby(key, taps)
        pipe.expire(key, LIKES_TTL)
        return int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("likes not counted", exc_info=True)
        return None


def like_count(session_id: int) -> int | None:
    try:
        return int(_client().get(_key(session_id, "likes")) or 0)
    except redis.RedisError:
        logger.warning("likes not read", exc_info=True)
        return None
