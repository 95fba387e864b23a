"""Scoped rate limits for the API (`throttle_scope` on a view; rates in
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], from the environment).

A fixed-window counter in the cache (one INCR per request, or per lease: below) rather than DRF's sliding log,
which stores every request time of the window in one cache value: at the benchmark's gift
rates that value grows to thousands of entries re-written on every request. Only unsafe
methods count. If the cache is down the request is let through (a throttle must not take
the API down with it) and a warning is logged.

Generous limits (at least LEASE_SHARE * 2 a window, such as the gift scope's) are not counted
one request at a time: a process reserves a lease of 1/LEASE_SHARE of the caller's allowance
with one INCRBY and spends it locally, so the common request costs no cache round trip. The
shared counter is still the only authority: a process is granted no more of a lease than was
left of the limit before it, so no more than the limit gets through across all processes; a lease a process does not
use up ends with its window, so a caller may be refused up to one lease per process early."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)

LEASE_SHARE = 100
MAX_LEASES = 10_000


class _Leases:
    """This process's unspent leases: counter key (with its window) -> requests left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: dict[str, int] = {}

    def take(self, key: str) -> bool:
        with self._lock:
            left = self._left.get(key, 0)
            if left <= 0:
                return False
            self._left[key] = left - 1
            return True

    def keep(self, key: str, left: int) -> None:
        with self._lock:
            if len(self._left) >= MAX_LEASES:
                # Old windows' leases: dropping them only refuses early, never lets more through.
                self._left.clear()
            self._left[key] = left


_leases = _Leases()


class ScopedThrottle(ScopedRateThrottle):
    def __init__(self) -> None:
        # Rates are read per request (DRF reads them once at import), so settings overrides apply.
        self.wait_seconds: float | None = None

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope or "")
        return str(rate) if rate else None

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope or request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.rate = self.get_rate()
        if not self.rate:
            return True
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:
            return True
        now = time.time()
        window = int(now // duration)
        key = f"{self.get_cache_key(request, view)}:{window}"
        lease = limit // LEASE_SHARE if limit >= 2 * LEASE_SHARE else 1
        if lease > 1 and _leases.take(key):
            return True
        try:
            try:
                count = cache.incr(key, lease)
            except ValueError:  # the first request of this window
                count = lease if cache.add(key, lease, duration + 1) else cache.incr(key, lease)
        except (RedisError, OSError, ValueError):
            logger.warning(
                "throttle cache unavailable; letting the request through", extra={"scope": self.scope}
            )
            return True
        # What this process was granted: the lease, or what was left of the limit before it.
        granted = min(lease, limit - (count - lease))
        if granted > 0:
            if granted > 1:
                _leases.keep(key, granted - 1)
            return True
        self.wait_seconds = (window + 1) * duration - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds
