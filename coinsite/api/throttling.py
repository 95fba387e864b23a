"""Scoped rate limits for the API (`throttle_scope` on a view; rates in
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], from the environment).

A fixed-window counter in the cache (one INCR per request) rather than DRF's sliding log,
which stores every request time of the window in one cache value: at the benchmark's gift
rates that value grows to thousands of entries re-written on every request. Only unsafe
methods count. If the cache is down the request is let through (a throttle must not take
the API down with it) and a warning is logged."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)


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
        try:
            try:
                count = cache.incr(key)
            except ValueError:  # the first request of this window
                count = 1 if cache.add(key, 1, duration + 1) else cache.incr(key)
        except (RedisError, OSError, ValueError):
            logger.warning(
                "throttle cache unavailable; letting the request through", extra={"scope": self.scope}
            )
            return True
        if count <= limit:
            return True
        self.wait_seconds = (window + 1) * duration - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds
