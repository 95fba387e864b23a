"""The Channels layer: channels_redis, made to fail fast while Redis is down and to come back
cleanly when it returns.

- A 1 s server-side receive wait (channels_redis uses `BZPOPMIN key 5`): the socket timeout
  in CHANNEL_LAYERS must stay above it or every idle receive times out, so this lets that
  timeout be a few seconds. A hung Redis then closes the live pages' websockets (which
  show "reconnecting") and fails broadcasts within seconds, not minutes.
- One retry of a command whose pooled connection turns out dead. After Redis restarts,
  every connection pooled before is dead, and redis-py's asyncio client does not retry by
  default: the first `group_add` of a reconnecting page failed, and the receive it then
  cancelled never finished under uvloop, so that page's websocket hung in its handshake
  (seen in drills/redis_outage.py). Retrying a layer command is harmless: a message sent
  twice is a gift shown once (pages drop ids they already show).
"""

from __future__ import annotations

from typing import Any

import redis
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from channels_redis.utils import decode_hosts
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


class RedisChannelLayer(BaseRedisChannelLayer):  # type: ignore[misc]
    brpop_timeout = 1  # seconds; keep below CHANNEL_LAYERS' socket_timeout

    def __init__(self, hosts: Any = None, **kwargs: Any) -> None:
        # A timeout is not retried: a hung Redis must fail within one socket timeout.
        retry = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        super().__init__(hosts=[{"retry": retry, **host} for host in decode_hosts(hosts)], **kwargs)
