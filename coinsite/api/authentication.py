"""Session authentication whose CSRF refusal has its own error code (`csrf_failed`)."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication: unsafe requests of a session-authenticated caller must
    carry the CSRF token (X-CSRFToken), exactly like the site's own forms."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc.detail), code="csrf_failed") from exc
