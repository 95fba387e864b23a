"""The Idempotency-Key header of every money-moving POST, parsed in one place.

Money moves at most once per key because the services key their ledger transactions (and
their domain rows) on it; the views rebuild a replay's answer from those rows. Actions on an
existing object whose row cannot hold the caller's key (confirm a purchase, cancel or ship an
order) are idempotent per object anyway; for them `remembered` also keeps the first answer
and the request's fingerprint in the cache for a day, so a replay gets that answer back and
the same key on a different request is a 409. If the cache is unavailable the per-object
guard still holds: a replay then answers with the object's current state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.response import Response

from wallet import errors
from wallet.models import User

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
KEY_REQUIRED = "The Idempotency-Key header is required."
KEY_INVALID = "An idempotency key of 1 to 100 letters, digits, '-', '_', '.' or ':' is required."
KEY_CODE = "bad_idempotency_key"
REMEMBER_SECONDS = 24 * 60 * 60

_KEY_RE = re.compile(KEY_PATTERN)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "pattern": KEY_PATTERN, "minLength": 1, "maxLength": 100},
    OpenApiParameter.HEADER,
    required=True,
    description="One key per operation (a UUID works): a retry with the same key and body returns the "
    "first response and moves nothing again; the same key with a different request is a 409 "
    "(`idempotency_conflict`); a missing or malformed key is a 400 (`bad_idempotency_key`).",
)


def idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key, or a 400 that says what is wrong with it."""
    key = request.headers.get(HEADER)
    if not key:
        raise errors.InvalidRequest(KEY_REQUIRED, code=KEY_CODE, extra={"header": HEADER})
    if not _KEY_RE.match(key):
        raise errors.InvalidRequest(KEY_INVALID, code=KEY_CODE, extra={"header": HEADER})
    return key


def request_fingerprint(request: Request) -> str:
    """Method, path and JSON body, canonicalised: what "the same request" means for a replay."""
    body = request.data if request.stream is not None else None
    canonical = json.dumps([request.method, request.path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _cache_key(user: User, key: str) -> str:
    # The user row's id and join time: a recycled id (a restored or a test database) never
    # meets the answers remembered for another row.
    owner = f"{user.pk}.{int(user.date_joined.timestamp() * 1_000_000)}"
    return f"api-idempotency:{owner}:{hashlib.sha256(key.encode()).hexdigest()}"


def remembered(request: Request, *, user: User, answer: Callable[[], Response]) -> Response:
    """Answer a per-object action once per key: a replay gets the first (2xx) answer back,
    the same key on a different request is a 409. Errors are not remembered, so a request
    refused for a reason the caller can fix may be retried with its key."""
    key = idempotency_key(request)
    fingerprint = request_fingerprint(request)
    cache_key = _cache_key(user, key)
    try:
        first = cache.get(cache_key)
    except (RedisError, OSError):
        logger.warning("idempotency cache unavailable; answering from the domain rows")
        first = None
    if isinstance(first, dict):
        if first.get("fingerprint") != fingerprint:
            raise errors.IdempotencyConflict()
        return Response(first["body"], status=first["status"])
    response = answer()
    if 200 <= response.status_code < 300:
        record: dict[str, Any] = {
            "fingerprint": fingerprint,
            "status": response.status_code,
            "body": response.data,
        }
        try:
            cache.add(cache_key, record, REMEMBER_SECONDS)
        except (RedisError, OSError):
            logger.warning("idempotency cache unavailable; the answer was not remembered")
    return response
