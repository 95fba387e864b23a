"""Page-number pagination for every API list: `?page=` (from 1) and `?page_size=` (1-100).

Unlike DRF's default, a page or page size that is not a whole number is a 400 (and a page size
out of range too) rather than read loosely or silently ignored, so what the schema documents is
what the server accepts. A page past the end stays DRF's 404."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100
PAGE_SIZE_INVALID = f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}."
PAGE_INVALID = "page must be a whole number from 1."


def _whole_number(raw: str) -> bool:
    # Digits only: int() would also take " 1", "+1" and "1_0", which the schema does not.
    return raw.isascii() and raw.isdigit()


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()  # no "?page=last": a page is a number

    def get_page_number(self, request: Request, paginator: Any) -> str:
        raw = request.query_params.get(self.page_query_param, "1")
        if not _whole_number(raw):
            raise ValidationError({self.page_query_param: [PAGE_INVALID]})
        return raw

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _whole_number(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise ValidationError({self.page_size_query_param: [PAGE_SIZE_INVALID]})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1 (a page past the end is a 404).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
