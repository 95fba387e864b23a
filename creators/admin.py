"""Staff screens for creators. Decisions and money-moving changes go through admin actions
that call `creators.services`; rows that mirror the ledger are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from creators import permissions, services
from creators.models import (
    Creator,
    CreatorEarningsDay,
    CreatorSupporter,
    EarningsRollupState,
    MerchItem,
    Order,
    Post,
    StreamKey,
    Unlock,
)
from creators.services import moderation
from creators.services.merch import SHIP_PERMISSION
from creators.services.onboarding import check_handle
from wallet.errors import CoinSiteError
from wallet.models import User
from wallet.moderation.admin_actions import (
    ActionAdmin,
    AuditedChangesAdmin,
    OptionalReasonForm,
    permission_check,
    reason_action,
)


class ReadOnlyAdmin(ActionAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _approve(creator: Creator, staff: User, data: dict[str, Any]) -> str:
    moderation.approve_application(creator_id=creator.pk, staff=staff, note=data["reason"])
    return f"{creator}: application approved."


def _reject(creator: Creator, staff: User, data: dict[str, Any]) -> str:
    moderation.reject_application(creator_id=creator.pk, staff=staff, reason=data["reason"])
    return f"{creator}: application rejected."


def _suspend(creator: Creator, staff: User, data: dict[str, Any]) -> str:
    moderation.suspend_creator(creator_id=creator.pk, staff=staff, reason=data["reason"])
    return f"{creator}: suspended."


def _reinstate(creator: Creator, staff: User, data: dict[str, Any]) -> str:
    moderation.reinstate_creator(creator_id=creator.pk, staff=staff, reason=data["reason"])
    return f"{creator}: reinstated."


class CreatorAdminForm(forms.ModelForm):
    """Staff editing a creator keep to the same handle rules as an application."""

    class Meta:
        model = Creator
        fields = ["handle"]  # the admin adds the rest of its fields

    def clean_handle(self) -> str:
        try:
            return check_handle(
                self.cleaned_data["handle"], user=self.instance.user if self.instance.user_id else None
            )
        except CoinSiteError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(Creator)
class CreatorAdmin(ActionAdmin):
    form = CreatorAdminForm
    list_display = [
        "handle",
        "display_name",
        "user",
        "category",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    ]
    list_filter = ["status", "category"]
    search_fields = ["handle", "display_name", "user__email"]
    readonly_fields = ["user", "status", "status_reason", "created_at", "decided_at", "decided_by"]
    actions = [
        reason_action(
            name="approve_applications",
            permission=permissions.REVIEW_CREATOR,
            description="Approve selected applications",
            submit="Approve",
            perform=_approve,
            form_class=OptionalReasonForm,
        ),
        reason_action(
            name="reject_applications",
            permission=permissions.REVIEW_CREATOR,
            description="Reject selected applications (the applicant sees the reason)",
            submit="Reject",
            perform=_reject,
        ),
        reason_action(
            name="suspend_creators",
            permission=permissions.SUSPEND_CREATOR,
            description="Suspend selected creators",
            submit="Suspend",
            perform=_suspend,
        ),
        reason_action(
            name="reinstate_creators",
            permission=permissions.SUSPEND_CREATOR,
            description="Reinstate selected creators",
            submit="Reinstate",
            perform=_reinstate,
        ),
    ]

    has_review_creator_permission = permission_check(permissions.REVIEW_CREATOR)
    has_suspend_creator_permission = permission_check(permissions.SUSPEND_CREATOR)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # viewers apply at /creators/apply/

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _hide_or_show(service: Any, key: str, verb: str) -> Any:
    def perform(row: Post | MerchItem, staff: User, data: dict[str, Any]) -> str:
        service(**{key: row.pk}, staff=staff, reason=data["reason"])
        return f"{row}: {verb}."

    return perform


@admin.register(Post)
class PostAdmin(AuditedChangesAdmin, ActionAdmin):
    audited_fields = ("price_coins", "premium_body", "premium_file")
    list_display = ["title", "creator", "price_coins", "hidden", "created_at"]
    list_filter = ["hidden"]
    search_fields = ["=id", "title", "creator__handle"]
    # Hiding goes through the audited actions below, never the form.
    readonly_fields = [
        "creator",
        "premium_file",
        "premium_file_name",
        "hidden",
        "hidden_reason",
        "created_at",
    ]
    actions = [
        reason_action(
            name="hide_posts",
            permission=permissions.HIDE_CONTENT,
            description="Hide selected posts",
            submit="Hide",
            perform=_hide_or_show(moderation.hide_post, "post_id", "hidden"),
        ),
        reason_action(
            name="show_posts",
            permission=permissions.HIDE_CONTENT,
            description="Show selected posts again",
            submit="Show",
            perform=_hide_or_show(moderation.show_post, "post_id", "shown again"),
        ),
    ]

    has_hide_content_permission = permission_check(permissions.HIDE_CONTENT)
    fields = [
        "creator",
        "title",
        "teaser",
        "premium_body",
        "premium_file",
        "premium_file_name",
        "price_coins",
        "hidden",
        "hidden_reason",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # creators publish from /studio/posts/new/


@admin.register(Unlock)
class UnlockAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "post", "coins", "transaction", "created_at"]
    search_fields = ["user__email", "post__title"]
    list_select_related = ["user", "post"]


@admin.register(MerchItem)
class MerchItemAdmin(AuditedChangesAdmin, ActionAdmin):
    audited_fields = ("price_coins",)
    list_display = ["name", "creator", "price_coins", "stock", "hidden", "hidden_by_staff", "created_at"]
    list_filter = ["hidden"]
    search_fields = ["=id", "name", "creator__handle"]
    # Stock changes by creators go through a relative update; staff hide items with the audited actions.
    readonly_fields = [
        "creator",
        "stock",
        "image",
        "hidden",
        "hidden_by_staff",
        "hidden_reason",
        "created_at",
    ]
    actions = [
        reason_action(
            name="hide_items",
            permission=permissions.HIDE_CONTENT,
            description="Hide selected merch items",
            submit="Hide",
            perform=_hide_or_show(moderation.hide_merch_item, "item_id", "hidden"),
        ),
        reason_action(
            name="show_items",
            permission=permissions.HIDE_CONTENT,
            description="Show selected merch items again",
            submit="Show",
            perform=_hide_or_show(moderation.show_merch_item, "item_id", "shown again"),
        ),
    ]

    has_hide_content_permission = permission_check(permissions.HIDE_CONTENT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def _ship_order(order: Order, staff: User, data: dict[str, Any]) -> str:
    return f"#{order.pk}: {services.mark_order_shipped(order_id=order.pk, by=staff, reason=data['reason']).message}"


def _cancel_order(order: Order, staff: User, data: dict[str, Any]) -> str:
    result = moderation.cancel_order_by_staff(order_id=order.pk, staff=staff, reason=data["reason"])
    return f"#{order.pk}: {result.message}"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "buyer",
        "item",
        "quantity",
        "coins",
        "diamonds",
        "status",
        "created_at",
        "shipped_at",
        "cancelled_at",
    ]
    list_filter = ["status"]
    search_fields = ["buyer__email", "item__name", "ship_name", "idempotency_key"]
    list_select_related = ["buyer", "item"]
    actions = [
        reason_action(
            name="mark_shipped",
            permission=SHIP_PERMISSION,
            description="Mark selected orders shipped (releases escrow)",
            submit="Ship",
            perform=_ship_order,
            intro="For an order the creator shipped but could not mark: say how you know.",
        ),
        reason_action(
            name="cancel_orders",
            permission=permissions.CANCEL_ORDER,
            description="Cancel selected orders (refund coins, return stock)",
            submit="Cancel orders",
            perform=_cancel_order,
        ),
    ]

    has_cancel_order_permission = permission_check(permissions.CANCEL_ORDER)
    has_ship_order_permission = permission_check(SHIP_PERMISSION)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Order._meta.fields]


@admin.register(CreatorEarningsDay)
class CreatorEarningsDayAdmin(ReadOnlyAdmin):
    list_display = ["account", "day", "kind", "diamonds", "count"]
    list_filter = ["kind"]
    search_fields = ["account__owner__email"]
    date_hierarchy = "day"


@admin.register(CreatorSupporter)
class CreatorSupporterAdmin(ReadOnlyAdmin):
    list_display = ["account", "supporter", "diamonds", "count"]
    search_fields = ["account__owner__email", "supporter__email"]


@admin.register(EarningsRollupState)
class EarningsRollupStateAdmin(ReadOnlyAdmin):
    list_display = ["horizon", "last_run_at", "last_run_entries"]


# ---------------------------------------------------------------- payouts (creators/payouts/admin.py)

from creators.payouts import admin as payouts_admin  # noqa: E402, F401  (registers the payout screens)


@admin.register(StreamKey)
class StreamKeyAdmin(ReadOnlyAdmin):
    """Stream keys are issued by their creator in the studio (only the hash is stored); staff
    see whether one is streaming. Suspending the creator cuts the stream."""

    list_display = ["id", "creator", "created_at", "revoked_at", "stream_name", "publishing_since"]
    list_filter = ["revoked_at"]
    search_fields = ["creator__handle", "creator__user__email", "stream_name"]
    list_select_related = ["creator"]
    exclude = ["key_hash"]
