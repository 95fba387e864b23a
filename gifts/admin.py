from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from gifts import chat, permissions
from gifts.models import ChatMessage, Gift, GiftSend, LiveSession, RoomBan, RoomModerator, RoomRules
from gifts.moderation import end_live_session_by_staff
from wallet.models import User
from wallet.moderation.admin_actions import ActionAdmin, AuditedChangesAdmin, permission_check, reason_action


@admin.register(Gift)
class GiftAdmin(AuditedChangesAdmin):
    audited_fields = ("coins",)
    list_display = ["name", "emoji", "coins", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    list_filter = ["active"]
    search_fields = ["name"]


def _end_session(session: LiveSession, staff: User, data: dict[str, Any]) -> str:
    end_live_session_by_staff(session_id=session.pk, staff=staff, reason=data["reason"])
    return f"{session}: ended."


@admin.register(LiveSession)
class LiveSessionAdmin(ActionAdmin):
    list_display = [
        "title",
        "creator",
        "status",
        "goal_gift",
        "goal_count",
        "started_at",
        "ended_at",
        "gifts",
    ]
    list_filter = ["status"]
    search_fields = ["=id", "title", "creator__handle"]
    list_select_related = ["creator", "goal_gift"]
    raw_id_fields = ["creator"]
    # Ending goes through the audited action (it also tells every open live page).
    readonly_fields = ["status", "ended_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A session's gifts and earnings belong to its creator: it is never re-pointed (the database refuses too).
        return [*self.readonly_fields, "creator"] if obj is not None else list(self.readonly_fields)

    actions = [
        reason_action(
            name="end_sessions",
            permission=permissions.END_LIVE_SESSION,
            description="End selected live sessions",
            submit="End",
            perform=_end_session,
        )
    ]

    has_end_live_session_permission = permission_check(permissions.END_LIVE_SESSION)

    @admin.display(description="gifts")
    def gifts(self, session: LiveSession) -> str:
        url = reverse("admin:gifts_giftsend_changelist") + f"?session__id__exact={session.pk}"
        return format_html('<a href="{}">Gifts</a>', url)


@admin.register(GiftSend)
class GiftSendAdmin(admin.ModelAdmin):
    """Read-only: a GiftSend is half of a ledger transaction; corrections are ledger reversals."""

    list_display = ["id", "created_at", "sender", "creator", "gift", "count", "coins", "session", "post"]
    list_filter = ["gift", "created_at"]
    search_fields = ["=session__id", "session__title", "sender__email", "creator__handle", "idempotency_key"]
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


def _delete_message(message: ChatMessage, staff: User, data: dict[str, Any]) -> str:
    chat.delete_message_by_staff(staff=staff, message_id=message.pk, reason=data["reason"])
    return f"Message #{message.pk}: deleted."


@admin.register(ChatMessage)
class ChatMessageAdmin(ActionAdmin):
    """Read-only: staff delete a reported message with the audited action (every open page drops it)."""

    list_display = ["id", "created_at", "author", "session", "text", "deleted_at", "deleted_by"]
    list_filter = ["created_at"]
    search_fields = ["=id", "=session__id", "author__email", "text"]
    list_select_related = ["author", "session", "deleted_by"]
    readonly_fields = ["session", "author", "text", "created_at", "deleted_at", "deleted_by"]
    date_hierarchy = "created_at"

    actions = [
        reason_action(
            name="delete_messages",
            permission=permissions.MODERATE_CHAT,
            description="Delete selected chat messages",
            submit="Delete",
            perform=_delete_message,
        )
    ]

    has_moderate_chat_permission = permission_check(permissions.MODERATE_CHAT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RoomRules)
class RoomRulesAdmin(admin.ModelAdmin):
    list_display = ["creator", "slow_mode_seconds", "links_allowed"]
    raw_id_fields = ["creator"]


@admin.register(RoomModerator)
class RoomModeratorAdmin(admin.ModelAdmin):
    list_display = ["creator", "user", "appointed_at"]
    raw_id_fields = ["creator", "user"]


@admin.register(RoomBan)
class RoomBanAdmin(admin.ModelAdmin):
    list_display = ["creator", "user", "until", "by", "created_at"]
    raw_id_fields = ["creator", "user", "by"]
