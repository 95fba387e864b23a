"""The signed-in user, typed (views behind login_required / IsAuthenticated use this), and
the user's API tokens: issued at log-in through the API, listed and revoked by their owner,
and ended whenever the password changes (wallet.models.User.save)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from rest_framework.authtoken.models import Token

from wallet.errors import LOG_IN_FIRST, NotAllowed
from wallet.models import User

TOKEN_SHOWN_CHARACTERS = 4


def signed_in_user(request: Any) -> User:
    user = request.user
    if not isinstance(user, User):
        raise NotAllowed(LOG_IN_FIRST)
    return user


@dataclass(frozen=True)
class ApiTokenInfo:
    """What the owner is shown of a token: never the whole key."""

    created: datetime.datetime
    ends_with: str


def issue_api_token(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


def api_tokens(*, user_id: int) -> list[ApiTokenInfo]:
    return [
        ApiTokenInfo(created=token.created, ends_with=token.key[-TOKEN_SHOWN_CHARACTERS:])
        for token in Token.objects.filter(user_id=user_id).order_by("created")
    ]


def revoke_api_tokens(*, user_id: int) -> int:
    """End every API token of the user; returns how many there were."""
    deleted, _ = Token.objects.filter(user_id=user_id).delete()
    return deleted
