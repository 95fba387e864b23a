from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gifts.models import Gift, GiftSend, LiveSession


@admin.register(Gift)
class GiftAdmin(admin.ModelAdmin):
    list_display = ["name", "emoji", "coins", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "creator", "status", "goal_gift", "goal_count", "started_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["title", "creator__handle"]
    list_select_related = ["creator", "goal_gift"]
    raw_id_fields = ["creator"]


@admin.register(GiftSend)
class GiftSendAdmin(admin.ModelAdmin):
    """Read-only: a GiftSend is half of a ledger transaction; corrections are ledger reversals."""

    list_display = ["id", "created_at", "sender", "creator", "gift", "count", "coins", "session", "post"]
    list_filter = ["gift", "created_at"]
    search_fields = ["sender__email", "creator__handle", "idempotency_key"]
    list_select_related = ["sender", "creator", "gift", "session", "post"]
    readonly_fields = [
        "sender",
        "creator",
        "session",
        "post",
        "gift",
        "count",
        "coins",
        "transaction",
        "idempotency_key",
        "created_at",
    ]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
