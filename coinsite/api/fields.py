"""Serializer fields that take JSON as it is: an integer is a JSON integer, never "12",
12.0, true or "1e3"; what the schema says is what the server accepts."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class WholeNumberField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(serializers.RegexField):
    """A JSON string (DRF's CharField also takes numbers and turns them into text), without
    NUL characters (PostgreSQL cannot store them); documented with that pattern. Whitespace is
    kept as sent: services strip it and refuse what is left empty, so the schema's minLength
    means what it says."""

    default_error_messages = {"invalid": "Text is required."}
    NO_NUL = r"^[^\x00]*$"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(self.NO_NUL, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))
