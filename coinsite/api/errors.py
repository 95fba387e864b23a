"""One error body for the whole API: {"code", "message", "extra"}.

Domain errors (`CoinSiteError`) keep their code and status; DRF's own errors (parse errors,
415, 405, 404, throttling, authentication) and Django's 404 / permission / suspicious-request
errors are mapped to the same shape, so a client never has to parse two formats.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from wallet.errors import CoinSiteError

BAD_REQUEST = "The request could not be read."


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    """The body of every 4xx and 5xx answer of the API."""

    code = serializers.CharField(help_text="Stable, machine-readable reason, e.g. `insufficient_funds`.")
    message = serializers.CharField(help_text="What went wrong, in words a person can act on.")
    extra = serializers.DictField(
        help_text="Details for programs: e.g. `fields` (per-field messages) for `invalid`, "
        "`retry_after` (seconds) for `throttled`."
    )


def _message_from(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message_from(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _message_from(value)
        return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    return str(detail)


def error_response(exc: CoinSiteError) -> Response:
    return Response({"code": exc.code, "message": exc.message, "extra": exc.extra}, status=exc.status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, CoinSiteError):
        return error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        # e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE: the client's fault, never a 500.
        exc = exceptions.ParseError(BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "message": _message_from(exc.detail), "extra": {"fields": exc.detail}}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
        if wait is not None:
            extra["retry_after"] = math.ceil(wait)
        body = {"code": code, "message": _message_from(exc.detail), "extra": extra}
    else:
        body = {"code": "error", "message": "Request failed.", "extra": extra}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        body["code"] = "throttled"
    response.data = body
    return response
