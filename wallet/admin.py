from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from wallet.auth import signed_in_user
from wallet.errors import CoinSiteError
from wallet.models import (
    Account,
    AccountDelta,
    CoinPackage,
    CoinPurchase,
    CoinReceivable,
    DailySpend,
    Entry,
    LedgerCheck,
    PurchaseDispute,
    PurchaseRefund,
    ReconciliationIssue,
    ReconciliationRun,
    Transaction,
    User,
    WebhookEvent,
)
from wallet.purchases.forms import RefundReasonForm
from wallet.purchases.refunds import refund_purchase
from wallet.purchases.webhooks import replay_webhook_event


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "date_of_birth", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "date_of_birth", "role")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class ReadOnlyLedgerAdmin(admin.ModelAdmin):
    """The ledger is read-only in admin: corrections are new transactions posted by services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    readonly_fields = ["account", "unit", "amount", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "kind", "idempotency_key", "reference", "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "reference", "memo"]
    inlines = [EntryInline]


@admin.register(Entry)
class EntryAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "transaction", "account", "unit", "amount", "created_at"]
    list_filter = ["unit"]
    search_fields = ["transaction__idempotency_key", "account__owner__email"]
    list_select_related = ["transaction", "account", "account__owner"]


@admin.register(Account)
class AccountAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "kind", "unit", "owner", "balance", "posting", "frozen"]
    list_filter = ["kind", "unit", "frozen", "posting"]
    search_fields = ["owner__email", "owner__display_name"]
    list_select_related = ["owner"]


@admin.register(AccountDelta)
class AccountDeltaAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "account", "amount"]


@admin.register(LedgerCheck)
class LedgerCheckAdmin(ReadOnlyLedgerAdmin):
    list_display = ["started_at", "finished_at", "ok", "transactions_checked", "accounts_checked"]
    list_filter = ["ok"]


@admin.register(DailySpend)
class DailySpendAdmin(ReadOnlyLedgerAdmin):
    list_display = ["user", "day", "coins"]
    search_fields = ["user__email"]


@admin.register(CoinPackage)
class CoinPackageAdmin(admin.ModelAdmin):
    list_display = ["name", "coins", "price_cents", "currency", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    list_filter = ["active", "currency"]


# ---------------------------------------------------------------- buying coins with Stripe


@admin.register(CoinPurchase)
class CoinPurchaseAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "id",
        "user",
        "coins",
        "amount_display",
        "status",
        "refunded_cents",
        "created_at",
        "credited_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["=id", "user__email", "stripe_payment_intent_id", "stripe_charge_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["refund_purchases"]

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("wallet.refund_coinpurchase")

    @admin.action(
        description="Refund selected purchases at Stripe (asks for a reason)", permissions=["refund"]
    )
    def refund_purchases(
        self, request: HttpRequest, queryset: QuerySet[CoinPurchase]
    ) -> TemplateResponse | None:
        form = RefundReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            staff = signed_in_user(request)
            for purchase in queryset.order_by("pk"):
                try:
                    refund_purchase(
                        purchase_id=purchase.pk, staff_user=staff, reason=form.cleaned_data["reason"]
                    )
                except CoinSiteError as exc:
                    self.message_user(request, f"Purchase #{purchase.pk}: {exc.message}", messages.ERROR)
                else:
                    self.message_user(request, f"Purchase #{purchase.pk} refunded.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Refund purchases",
            "opts": self.model._meta,
            "purchases": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/wallet/coinpurchase/refund_reason.html", context)


@admin.register(PurchaseRefund)
class PurchaseRefundAdmin(ReadOnlyLedgerAdmin):
    list_display = ["purchase", "amount_cents", "requested_by", "stripe_refund_id", "created_at"]
    search_fields = ["=purchase__id", "stripe_refund_id", "reason"]
    list_select_related = ["purchase", "requested_by"]


@admin.register(PurchaseDispute)
class PurchaseDisputeAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "stripe_dispute_id",
        "purchase",
        "status",
        "stripe_status",
        "amount_cents",
        "coins",
        "updated_at",
    ]
    list_filter = ["status"]
    search_fields = ["stripe_dispute_id", "=purchase__id"]


@admin.register(CoinReceivable)
class CoinReceivableAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "user",
        "purchase",
        "source",
        "coins",
        "covered_coins",
        "waived_coins",
        "created_at",
        "settled_at",
    ]
    list_filter = ["source", ("settled_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "=purchase__id"]
    list_select_related = ["user", "purchase"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["stripe_event_id", "type", "status", "outcome", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_event_id", "last_error"]
    actions = ["replay"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("wallet.view_webhookevent") and request.user.is_staff

    @admin.action(description="Replay selected events (clears the last error first)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        for event_id in queryset.order_by("received_at").values_list("pk", flat=True):
            event = replay_webhook_event(event_id=event_id)
            level = messages.ERROR if event.status == WebhookEvent.Status.FAILED else messages.SUCCESS
            self.message_user(
                request, f"{event.stripe_event_id}: {event.status} {event.last_error}".strip(), level
            )


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "started_at",
        "status",
        "events_checked",
        "purchases_checked",
        "credited",
        "failed",
        "abandoned",
        "issues",
        "finished_at",
    ]
    list_filter = ["status"]


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(admin.ModelAdmin):
    """Issues are read-only except for staff marking them resolved with a note."""

    list_display = [
        "created_at",
        "kind",
        "purchase",
        "stripe_object_id",
        "expected",
        "found",
        "source",
        "resolved",
    ]
    list_filter = ["resolved", "kind", "source"]
    search_fields = ["stripe_object_id", "=purchase__id"]
    list_select_related = ["purchase"]
    fields = [
        "kind",
        "purchase",
        "run",
        "source",
        "stripe_object_id",
        "expected",
        "found",
        "created_at",
        "resolved",
        "resolved_note",
    ]
    readonly_fields = [
        "kind",
        "purchase",
        "run",
        "source",
        "stripe_object_id",
        "expected",
        "found",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
