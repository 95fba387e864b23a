"""The signed-in user, typed: views behind login_required / IsAuthenticated use this."""

from __future__ import annotations

from typing import Any

from wallet.errors import NotAllowed
from wallet.models import User


def signed_in_user(request: Any) -> User:
    user = request.user
    if not isinstance(user, User):
        raise NotAllowed("Please log in first.")
    return user
