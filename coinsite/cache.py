"""The cache backend: Django's Redis cache, answering like an empty cache while Redis is down.

What uses the cache (DRF throttles, allauth's rate limits) is not worth a 500 while Redis is
unreachable: money moves through PostgreSQL alone. So a connection error or timeout is
logged once per outage and the call returns what an empty cache would (`get` the default,
`add` True, `incr` the delta): rate limits fail open for the length of an outage. `add`
answering True matters: allauth guards its rate-limit history with an `add` lock and refuses
the request (429) when it cannot take it. CoinSite's own locks are database locks, never
cache keys. After a failure the process skips Redis for
`RETRY_AFTER` seconds, so a hung Redis costs one socket timeout per process, not one per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import cached_property, partial
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What "Redis is unreachable" looks like from redis-py (refused, reset, timed out, loading).
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER = 1.0  # seconds without trying Redis after a failure


class Outage:
    """Per process and per Redis location: is it known to be down, since when, and how many
    calls were answered without it. Django makes a cache object per thread (per request under
    ASGI), so this state cannot live on the cache object."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.answered = 0

    def skip(self) -> bool:
        with self._lock:
            if self.down_since is not None and time.monotonic() < self.retry_at:
                self.answered += 1
                return True
            return False

    def failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            first = self.down_since is None
            if first:
                self.down_since = now
            self.retry_at = now + RETRY_AFTER
            self.answered += 1
        if first:
            logger.warning(
                "Redis cache unreachable (%s: %s): answering as an empty cache until it is back",
                type(exc).__name__,
                exc,
                extra={"cache_location": self.location},
            )

    def succeeded(self) -> None:
        if self.down_since is None:  # the common case: no lock taken
            return
        with self._lock:
            if self.down_since is None:
                return
            seconds, answered = time.monotonic() - self.down_since, self.answered
            self.down_since, self.answered = None, 0
        logger.warning(
            "Redis cache reachable again after %.1f s; %d calls were answered without it",
            seconds,
            answered,
            extra={"cache_location": self.location},
        )


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(location: str) -> Outage:
    with _outages_lock:
        return _outages.setdefault(location, Outage(location))


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


class FailSoftRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` that degrades instead of raising.

    Its Redis client (and so its connection pool) is shared by the whole process: Django makes
    a cache object per thread, and under ASGI every request runs on a thread of its own, so
    with a client per cache object every request opened a new Redis connection."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.outage = outage_for(server if isinstance(server, str) else ",".join(server))

    @cached_property
    def _cache(self) -> Any:
        # RedisCache's own attributes (django-stubs does not declare them).
        servers, options = self._servers, self._options  # type: ignore[attr-defined]
        key = repr((servers, sorted(options.items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(servers, **options)  # type: ignore[attr-defined]
        return client

    def _soft(self, call: Callable[[], T], default: T) -> T:
        if self.outage.skip():
            return default
        try:
            result = call()
        except REDIS_UNAVAILABLE as exc:
            self.outage.failed(exc)
            return default
        self.outage.succeeded()
        return result

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._soft(partial(super().add, key, value, timeout, version), True)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._soft(partial(super().get, key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._soft(partial(super().set, key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._soft(partial(super().touch, key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._soft(partial(super().delete, key, version), False)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        return self._soft(partial(super().get_many, keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._soft(partial(super().has_key, key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # As if the key had just been created at zero: a counter-based limit lets the call through.
        return self._soft(partial(super().incr, key, delta, version), delta)

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        # The keys that were not stored: all of them.
        return self._soft(partial(super().set_many, data, timeout, version), list(data))

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        keys = list(keys)
        self._soft(partial(super().delete_many, keys, version), None)

    def clear(self) -> None:
        self._soft(partial(super().clear), None)
