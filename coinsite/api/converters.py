"""Path converter for object ids in API URLs: at most 18 digits, so every id that matches
fits a bigint (anything longer is the catch-all's JSON 404, not a database error)."""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import get_converters

NAME = "api_id"
MAX_ID = 10**18 - 1


class ObjectIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def register() -> None:
    """Called by every API urls module before its routes are built."""
    if NAME not in get_converters():
        register_converter(ObjectIdConverter, NAME)
