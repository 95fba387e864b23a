"""The gift endpoints' reads in one query: the API token with its user, the gift, and the live
session (with its creator and goal gift) or the post (with its creator), fetched together so a
token-authenticated gift costs one round trip before the posting statement.

The rows are read fresh on every request (no cache): the gift's price, the session's state and
the creator's status are the database's as of this query, exactly as separate lookups would
have read them. The statement is prepared on the connection (coinsite.db). Any part may be
missing (unknown token, gift, session or post): the caller refuses with the error the separate
lookups raised."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, models
from rest_framework.authtoken.models import Token

from coinsite.db import prepared_cursor
from creators.models import Creator, Post
from gifts.models import Gift, LiveSession
from wallet.models import User

M = TypeVar("M", bound=models.Model)


@dataclass
class GiftRequest:
    token: Token | None
    gift_id: int | None
    gift: Gift | None
    session: LiveSession | None = None
    post: Post | None = None


def _columns(model: type[models.Model], alias: str) -> tuple[list[str], list[str]]:
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], [f'{alias}."{f.column}"' for f in fields]


class _Select:
    """One SELECT of several models' columns, each model's row rebuilt from its slice."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.parts: list[tuple[type[models.Model], list[str], int]] = []

    def add(self, model: type[models.Model], alias: str) -> int:
        names, columns = _columns(model, alias)
        self.parts.append((model, names, len(self.columns)))
        self.columns.extend(columns)
        return len(self.parts) - 1

    def instance(self, row: tuple[Any, ...], part: int, model: type[M]) -> M | None:
        part_model, names, start = self.parts[part]
        assert part_model is model
        values = row[start : start + len(names)]
        if values[names.index(model._meta.pk.attname)] is None:  # no such row
            return None
        return model.from_db(connection.alias, names, values)


def _table(model: type[models.Model]) -> str:
    return f'"{model._meta.db_table}"'


@functools.cache
def _statement(target: str) -> tuple[str, _Select, dict[str, int]]:
    """The SQL for a gift to a live session or on a post (built once per process), its
    columns, and which part of the row is which model."""
    select = _Select()
    parts = {"token": select.add(Token, "t"), "user": select.add(User, "u"), "gift": select.add(Gift, "g")}
    joins = [
        f"LEFT JOIN {_table(Token)} t ON t.key = %s::text",
        f"LEFT JOIN {_table(User)} u ON u.id = t.user_id",
        f"LEFT JOIN {_table(Gift)} g ON g.id = %s::bigint",
    ]
    if target == "session":
        parts |= {"session": select.add(LiveSession, "s"), "creator": select.add(Creator, "c")}
        parts["goal_gift"] = select.add(Gift, "gg")
        joins += [
            f"LEFT JOIN {_table(LiveSession)} s ON s.id = %s::bigint",
            f"LEFT JOIN {_table(Creator)} c ON c.id = s.creator_id",
            f"LEFT JOIN {_table(Gift)} gg ON gg.id = s.goal_gift_id",
        ]
    else:
        parts |= {"post": select.add(Post, "p"), "creator": select.add(Creator, "c")}
        joins += [
            f"LEFT JOIN {_table(Post)} p ON p.id = %s::bigint",
            f"LEFT JOIN {_table(Creator)} c ON c.id = p.creator_id",
        ]
    sql = f"SELECT {', '.join(select.columns)} FROM (SELECT 1) AS one {' '.join(joins)}"
    return sql, select, parts


def gift_request(
    *, token_key: str, gift_id: int | None, session_id: int | None = None, post_id: int | None = None
) -> GiftRequest:
    """The token (with its user), the gift and the session or post named, in one query (a
    prepared statement)."""
    target = "session" if session_id is not None else "post"
    sql, select, parts = _statement(target)
    with prepared_cursor() as cursor:
        cursor.execute(sql, [token_key, gift_id, session_id if session_id is not None else post_id])
        row = cursor.fetchone()
    assert row is not None

    token = select.instance(row, parts["token"], Token)
    user = select.instance(row, parts["user"], User)
    if token is not None and user is not None:
        token._state.fields_cache["user"] = user
    creator = select.instance(row, parts["creator"], Creator)
    result = GiftRequest(
        token=token if user is not None else None,
        gift_id=gift_id,
        gift=select.instance(row, parts["gift"], Gift),
    )
    if target == "session":
        session = select.instance(row, parts["session"], LiveSession)
        if session is not None:
            session._state.fields_cache["creator"] = creator
            session._state.fields_cache["goal_gift"] = select.instance(row, parts["goal_gift"], Gift)
        result.session = session
    else:
        post = select.instance(row, parts["post"], Post)
        if post is not None:
            post._state.fields_cache["creator"] = creator
        result.post = post
    return result
