"""Permissions shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from wallet.errors import AgeRestricted


class IsAdult(BasePermission):
    """Spending and buying coins need a signed-in adult; reading does not (safe methods pass)."""

    message = AgeRestricted.default_message
    code = AgeRestricted.code

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_adult", False))
