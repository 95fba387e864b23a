"""Staff screens for creators. Decisions and money-moving changes go through admin actions
that call `creators.services`; rows that mirror the ledger are read-only."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from creators import services
from creators.forms import DecisionForm, RejectForm
from creators.models import (
    Creator,
    CreatorEarningsDay,
    CreatorSupporter,
    EarningsRollupState,
    MerchItem,
    Order,
    Post,
    Unlock,
)
from wallet.errors import CoinSiteError
from wallet.models import User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _decide(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Creator], *, approve: bool
) -> HttpResponse | None:
    """Ask for a reason on an intermediate page, then call the service for each application."""
    staff = cast(User, request.user)
    form_class = DecisionForm if approve else RejectForm
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            done = 0
            for creator in queryset:
                try:
                    if approve:
                        services.approve_creator(
                            creator_id=creator.pk, decided_by=staff, reason=form.cleaned_data["reason"]
                        )
                    else:
                        services.reject_creator(
                            creator_id=creator.pk, decided_by=staff, reason=form.cleaned_data["reason"]
                        )
                    done += 1
                except CoinSiteError as exc:
                    modeladmin.message_user(request, f"@{creator.handle}: {exc.message}", messages.ERROR)
            verb = "approved" if approve else "rejected"
            if done:
                modeladmin.message_user(
                    request, f"{done} application{'s' if done != 1 else ''} {verb}.", messages.SUCCESS
                )
            return None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Approve applications" if approve else "Reject applications",
        "creators": queryset,
        "form": form,
        "action": "approve_applications" if approve else "reject_applications",
        "approve": approve,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "creators/admin_decide.html", context)


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
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
    actions = ["approve_applications", "reject_applications"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # viewers apply at /creators/apply/

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve selected applications", permissions=["change"])
    def approve_applications(self, request: HttpRequest, queryset: QuerySet[Creator]) -> HttpResponse | None:
        return _decide(self, request, queryset, approve=True)

    @admin.action(description="Reject selected applications (with a reason)", permissions=["change"])
    def reject_applications(self, request: HttpRequest, queryset: QuerySet[Creator]) -> HttpResponse | None:
        return _decide(self, request, queryset, approve=False)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "creator", "price_coins", "hidden", "created_at"]
    list_filter = ["hidden"]
    search_fields = ["title", "creator__handle"]
    readonly_fields = ["creator", "premium_file", "premium_file_name", "created_at"]
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
class MerchItemAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "price_coins", "stock", "hidden", "created_at"]
    list_filter = ["hidden"]
    search_fields = ["name", "creator__handle"]
    # Stock changes by creators go through a relative update; staff only hide or describe items here.
    readonly_fields = ["creator", "stock", "image", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


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
    actions = ["mark_shipped", "cancel_orders"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Lets staff run the actions below; every field stays read-only.
        return bool(request.user.has_perm("creators.change_order"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Order._meta.fields]

    def _run(self, request: HttpRequest, queryset: QuerySet[Order], service: Any) -> None:
        for order in queryset:
            try:
                result = service(order_id=order.pk, by=cast(User, request.user))
                self.message_user(request, f"#{order.pk}: {result.message}", messages.SUCCESS)
            except CoinSiteError as exc:
                self.message_user(request, f"#{order.pk}: {exc.message}", messages.ERROR)

    @admin.action(description="Mark selected orders shipped (releases escrow)", permissions=["change"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._run(request, queryset, services.mark_order_shipped)

    @admin.action(description="Cancel selected orders (refund coins, return stock)", permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._run(request, queryset, services.cancel_order)


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
