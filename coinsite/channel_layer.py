"""The Channels layer: channels_redis, made to fail fast while Redis is down and to come back
cleanly when it returns.

- A 1 s server-side receive wait (channels_redis uses `BZPOPMIN key 5`): the socket timeout
  in CHANNEL_LAYERS must stay above it or every idle receive times out, so this lets that
  timeout be a few seconds. A hung Redis then closes the live pages' websockets (which
  show "reconnecting") and fails broadcasts within seconds, not minutes.
- `group_send_many`: one message to each of many groups in two Redis round trips (one
  pipeline reads every group's members, one pipeline delivers), where `group_send` takes two
  to four round trips per group. The live broadcaster sends each batch of gifts with it.
- One retry of a command whose pooled connection turns out dead. After Redis restarts,
  every connection pooled before is dead, and redis-py's asyncio client does not retry by
  default: the first `group_add` of a reconnecting page failed, and the receive it then
  cancelled never finished under uvloop, so that page's websocket hung in its handshake
  (seen in drills/redis_outage.py). Retrying a layer command is harmless: a message sent
  twice is a gift shown once (pages drop ids they already show).
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

import redis
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from channels_redis.utils import decode_hosts
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

logger = logging.getLogger(__name__)

# channels_redis's group_send script: add the message to each channel's sorted set unless the
# channel is at capacity; returns how many were over capacity.
GROUP_SEND_LUA = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""


class RedisChannelLayer(BaseRedisChannelLayer):  # type: ignore[misc]
    brpop_timeout = 1  # seconds; keep below CHANNEL_LAYERS' socket_timeout

    def __init__(self, hosts: Any = None, **kwargs: Any) -> None:
        # A timeout is not retried: a hung Redis must fail within one socket timeout.
        retry = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        super().__init__(hosts=[{"retry": retry, **host} for host in decode_hosts(hosts)], **kwargs)

    async def group_send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """`group_send` of each (group, message), in two pipelined round trips per Redis host."""
        now = int(time.time())
        by_host: dict[int, list[tuple[str, dict[str, Any]]]] = collections.defaultdict(list)
        for group, message in messages:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_host[self.consistent_hash(group)].append((group, message))
        # Each group's members, dropping those past group_expiry (as group_send does).
        members: list[tuple[str, dict[str, Any], list[str]]] = []
        for index, sends in by_host.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group, _ in sends:
                key = self._group_key(group)
                pipe.zremrangebyscore(key, min=0, max=now - self.group_expiry)
                pipe.zrange(key, 0, -1)
            replies = await pipe.execute()
            for (group, message), names in zip(sends, replies[1::2], strict=True):
                if names:
                    members.append((group, message, [name.decode("utf8") for name in names]))
        # Deliver: per channel key, drop expired messages and add this one (group_send's script).
        deliveries: dict[int, list[tuple[str, list[str], dict[str, Any], dict[str, int]]]] = (
            collections.defaultdict(list)
        )
        for group, message, channel_names in members:
            keys_by_host, message_of, capacity_of = self._map_channel_keys_to_connection(
                channel_names, message
            )
            for index, keys in keys_by_host.items():
                deliveries[index].append((group, keys, message_of, capacity_of))
        for index, batches in deliveries.items():
            pipe = self.connection(index).pipeline(transaction=False)
            script_replies = []  # where each group's script reply lands in the pipeline's replies
            for _, keys, message_of, capacity_of in batches:
                for key in keys:
                    pipe.zremrangebyscore(key, min=0, max=now - int(self.expiry))
                args = [message_of[key] for key in keys] + [capacity_of[key] for key in keys]
                pipe.eval(GROUP_SEND_LUA, len(keys), *keys, *args, time.time(), self.expiry)
                script_replies.append(len(pipe) - 1)
            replies = await pipe.execute()
            for (group, keys, _, _), at in zip(batches, script_replies, strict=True):
                if replies[at]:
                    logger.info("%s of %s channels over capacity in group %s", replies[at], len(keys), group)
