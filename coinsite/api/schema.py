"""The OpenAPI schema's conventions: every operation documents the errors it can answer with
(all in the one error body), derived from what the view declares (authentication, path ids,
pagination, request body, throttle scope, Idempotency-Key header). Views add their own domain
errors (402, 409, 423, ...) with `error_responses`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.authentication import SessionScheme as _SessionScheme
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from coinsite.api.errors import ErrorOutput
from coinsite.api.idempotency import HEADER as IDEMPOTENCY_HEADER

COMMON_ERRORS = {
    400: "Invalid input: `invalid` (with `extra.fields`), `parse_error`, `bad_idempotency_key`, or a domain "
    "refusal.",
    401: "Not signed in (`not_authenticated`) or a bad token (`authentication_failed`).",
    403: "Not allowed: `permission_denied`, `age_restricted` (under 18), `csrf_failed` (session without "
    "the CSRF token), or a domain refusal.",
    402: "Not enough coins (`insufficient_funds`; `extra.coins_url` says where to get more).",
    404: "No such object, or not yours (`not_found`).",
    409: "The Idempotency-Key was already used for a different request (`idempotency_conflict`), or the "
    "object is in the wrong state.",
    415: "Send the body as application/json (`unsupported_media_type`).",
    423: "The wallet is frozen (`account_frozen`).",
    429: "Too many requests (`throttled`; `extra.retry_after` in seconds).",
    502: "The payment provider refused the request (`payment_provider_error`).",
    503: "The payment provider could not be reached (`payment_provider_unavailable`); a charge that "
    "may have happened is settled later and shows on the receipt.",
}


def error_responses(*codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """Domain errors of one operation for `extend_schema(responses=...)`; `descriptions` by `e402=...`."""
    return {
        code: OpenApiResponse(
            ErrorOutput, description=descriptions.get(f"e{code}", COMMON_ERRORS.get(code, "Refused."))
        )
        for code in codes
    }


class SessionScheme(_SessionScheme):
    target_class = "coinsite.api.authentication.SessionAuthentication"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class AutoSchema(openapi.AutoSchema):
    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        component = self.resolve_serializer(ErrorOutput, "response")
        responses: dict[str, Any] = operation["responses"]

        def add(code: int) -> None:
            responses.setdefault(
                str(code),
                {
                    "description": COMMON_ERRORS[code],
                    "content": {"application/json": {"schema": component.ref}},
                },
            )

        if "requestBody" in operation:
            # Every body of this API is required (spectacular infers it from required fields,
            # which a oneOf of shapes does not have).
            operation["requestBody"]["required"] = True
        parameters = operation.get("parameters", [])
        unsafe = self.method not in ("GET", "HEAD", "OPTIONS")
        open_to_all = all(isinstance(p, AllowAny) for p in self.view.get_permissions())
        authenticated = bool(self.view.get_authenticators())
        if parameters or "requestBody" in operation:
            add(400)
        if authenticated:
            add(401)  # a bad token is refused even where no sign-in is needed
        if not open_to_all or (unsafe and authenticated):
            add(403)  # permissions, or a session without its CSRF token
        if any(p["in"] == "path" for p in parameters) or (self._is_list_view() and self._get_paginator()):
            add(404)
        if any(p["in"] == "header" and p["name"] == IDEMPOTENCY_HEADER for p in parameters):
            add(409)
        if "requestBody" in operation:
            add(415)
        if unsafe and getattr(self.view, "throttle_scope", None):
            add(429)
        return operation
