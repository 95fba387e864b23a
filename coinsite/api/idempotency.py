"""The Idempotency-Key header of every money-moving POST, read in one place.

The views only read the header and pass the key to the service, which keeps the contract
(`wallet.idempotency`): a replay answers as the first request did and moves nothing, the same
key on a different request is a 409.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from wallet import errors
from wallet.idempotency import KEY_CODE, KEY_MAX_LENGTH, KEY_PATTERN, check_key

HEADER = "Idempotency-Key"
KEY_REQUIRED = "The Idempotency-Key header is required."

IDEMPOTENCY_HEADER_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "pattern": KEY_PATTERN, "minLength": 1, "maxLength": KEY_MAX_LENGTH},
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
    return check_key(key, extra={"header": HEADER})
