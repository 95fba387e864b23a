"""The API's authentication: DRF's token authentication, whose views may load the token together
with what they need, and session authentication whose CSRF refusal has its own error code
(`csrf_failed`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework.request import Request


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's. A view with a `token_lookup(request, key)` method
    looks the token up itself (with its user loaded, and whatever else the view needs from the
    same query) and returns it, or None for an unknown key; the checks and errors are DRF's."""

    request: Request | None = None

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        self.request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        view = self.request.parser_context.get("view") if self.request is not None else None
        lookup = getattr(view, "token_lookup", None)
        if lookup is None:
            return super().authenticate_credentials(key)
        token: Token | None = lookup(self.request, key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication: unsafe requests of a session-authenticated caller must
    carry the CSRF token (X-CSRFToken), exactly like the site's own forms."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc.detail), code="csrf_failed") from exc
