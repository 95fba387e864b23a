from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Case, When
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from wallet.earnings import diamonds_to_cents
from wallet.models import (
    Account,
    AccountDelta,
    AdjustmentRequest,
    AuditEntry,
    CoinPackage,
    CoinPurchase,
    CoinReceivable,
    DailySpend,
    EarningsHold,
    EarningsReversal,
    Entry,
    LedgerCheck,
    PurchaseDispute,
    PurchaseRefund,
    ReconciliationIssue,
    ReconciliationRun,
    RefundFailure,
    Report,
    Transaction,
    User,
    WebhookEvent,
)
from wallet.moderation import actions as staff_actions
from wallet.moderation import adjustments, reports
from wallet.moderation.admin_actions import (
    ActionAdmin,
    AuditedChangesAdmin,
    OptionalReasonForm,
    permission_check,
    reason_action,
)
from wallet.moderation.forms import AdjustmentForm
from wallet.money import format_money
from wallet.purchases.forms import RefundReasonForm


@admin.register(User)
class UserAdmin(AuditedChangesAdmin, DjangoUserAdmin):
    audited_fields = ("date_of_birth", "is_staff", "is_superuser", "groups", "user_permissions")
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


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedChangesAdmin, DjangoGroupAdmin):
    audited_fields = ("name", "permissions")


class ReadOnlyLedgerAdmin(ActionAdmin):
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


def _freeze(account: Account, staff: User, data: dict[str, Any]) -> str:
    staff_actions.freeze_wallet(account_id=account.pk, staff=staff, reason=data["reason"])
    return f"{account}: frozen."


def _unfreeze(account: Account, staff: User, data: dict[str, Any]) -> str:
    staff_actions.unfreeze_wallet(account_id=account.pk, staff=staff, reason=data["reason"])
    return f"{account}: unfrozen."


freeze_wallets = reason_action(
    name="freeze_wallets",
    permission="wallet.freeze_wallet",
    description="Freeze selected wallets (nothing can be spent from them)",
    submit="Freeze",
    perform=_freeze,
)
unfreeze_wallets = reason_action(
    name="unfreeze_wallets",
    permission="wallet.freeze_wallet",
    description="Unfreeze selected wallets",
    submit="Unfreeze",
    perform=_unfreeze,
)


def _adjust(account: Account, staff: User, data: dict[str, Any]) -> str:
    request = adjustments.request_adjustment(
        account_id=account.pk, amount=data["amount"], reason=data["reason"], requested_by=staff
    )
    if request.status == AdjustmentRequest.Status.APPLIED:
        return f"{account}: adjusted by {request.amount:+,d} (ledger transaction #{request.transaction_id})."
    return (
        f"{account}: adjustment #{request.pk} of {request.amount:+,d} is above the approval threshold "
        "(counting what you applied to this account today) and waits for a second staff member's approval."
    )


adjust_balances = reason_action(
    name="adjust_balances",
    permission="wallet.adjust_balance",
    description="Adjust balance (credit or debit against staff adjustments)",
    submit="Adjust",
    perform=_adjust,
    form_class=AdjustmentForm,
    intro=(
        "Credits (positive) or debits (negative) each selected balance in its own unit, against the "
        "staff adjustments account. Once what you applied to an account today would pass the approval "
        "threshold, the rest waits for a second staff member. You cannot adjust your own balances."
    ),
)


@admin.register(Account)
class AccountAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "kind", "unit", "owner", "balance", "posting", "frozen", "frozen_reason"]
    list_filter = ["kind", "unit", "frozen", "posting"]
    search_fields = ["=id", "owner__email", "owner__display_name"]
    list_select_related = ["owner"]
    actions = [freeze_wallets, unfreeze_wallets, adjust_balances]

    has_freeze_wallet_permission = permission_check("wallet.freeze_wallet")
    has_adjust_balance_permission = permission_check("wallet.adjust_balance")


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
class CoinPackageAdmin(AuditedChangesAdmin):
    audited_fields = ("coins", "price_cents", "currency")
    list_display = ["name", "coins", "price_cents", "currency", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    list_filter = ["active", "currency"]


# ---------------------------------------------------------------- buying coins with Stripe


def _refund(purchase: CoinPurchase, staff: User, data: dict[str, Any]) -> str:
    staff_actions.refund_purchase_by_staff(purchase_id=purchase.pk, staff=staff, reason=data["reason"])
    return f"Purchase #{purchase.pk} refunded."


refund_purchases = reason_action(
    name="refund_purchases",
    permission="wallet.refund_purchase",
    description="Refund purchases",
    submit="Refund",
    perform=_refund,
    form_class=RefundReasonForm,
    intro=(
        "Refund what is left of these purchases at Stripe and take their coins back. Coins already "
        "spent become a receivable and the wallet is frozen until it is covered."
    ),
)


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
    actions = [refund_purchases]

    has_refund_purchase_permission = permission_check("wallet.refund_purchase")


@admin.register(PurchaseRefund)
class PurchaseRefundAdmin(ReadOnlyLedgerAdmin):
    list_display = ["purchase", "amount_cents", "requested_by", "stripe_refund_id", "created_at"]
    search_fields = ["=purchase__id", "stripe_refund_id", "reason"]
    list_select_related = ["purchase", "requested_by"]


@admin.register(RefundFailure)
class RefundFailureAdmin(ReadOnlyLedgerAdmin):
    list_display = ["stripe_refund_id", "purchase", "amount_cents", "coins", "created_at"]
    search_fields = ["stripe_refund_id", "=purchase__id"]
    list_select_related = ["purchase"]


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


@admin.register(EarningsReversal)
class EarningsReversalAdmin(ReadOnlyLedgerAdmin):
    """The staff report of chargeback losses: per creator credit, what came back and what was lost."""

    list_display = [
        "purchase",
        "creator",
        "coins",
        "diamonds_reversed",
        "diamonds_lost",
        "cents_lost",
        "event_key",
        "transaction",
        "created_at",
        "undone_at",
    ]
    # A reversal undone by a failed refund took and lost nothing: the report counts only the rest.
    list_filter = [("created_at", admin.DateFieldListFilter), ("undone_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "created_at"
    search_fields = ["=purchase__id", "event_key", "account__owner__email"]
    list_select_related = ["purchase", "account__owner", "transaction"]

    @admin.display(description="Creator", ordering="account__owner")
    def creator(self, reversal: EarningsReversal) -> str:
        return str(reversal.account.owner)

    @admin.display(description="Cents lost")
    def cents_lost(self, reversal: EarningsReversal) -> str:
        return format_money(diamonds_to_cents(reversal.diamonds_lost), settings.COIN_CURRENCY)


@admin.register(EarningsHold)
class EarningsHoldAdmin(ReadOnlyLedgerAdmin):
    list_display = ["dispute", "account", "credit_transaction", "credit_created_at", "diamonds"]
    list_filter = ["dispute__status"]
    search_fields = ["dispute__stripe_dispute_id", "account__owner__email"]
    list_select_related = ["dispute", "account__owner"]


def _replay(event: WebhookEvent, staff: User, data: dict[str, Any]) -> str:
    replayed = staff_actions.replay_webhook_event_by_staff(
        event_id=event.pk, staff=staff, note=data["reason"]
    )
    return f"{replayed.stripe_event_id}: {replayed.status}"


replay_events = reason_action(
    name="replay",
    permission=staff_actions.REPLAY_PERMISSION,
    description="Replay selected events (clears the last error first)",
    submit="Replay",
    perform=_replay,
    form_class=OptionalReasonForm,
)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["stripe_event_id", "type", "status", "outcome", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_event_id", "last_error"]
    actions = [replay_events]

    has_change_webhookevent_permission = permission_check(staff_actions.REPLAY_PERMISSION)


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


ISSUE_FIELDS = (
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
)


def _resolve(issue: ReconciliationIssue, staff: User, data: dict[str, Any]) -> str:
    staff_actions.resolve_reconciliation_issue(issue_id=issue.pk, staff=staff, reason=data["reason"])
    return f"{issue}: resolved."


resolve_issues = reason_action(
    name="resolve_issues",
    permission="wallet.resolve_reconciliation_issue",
    description="Resolve selected reconciliation issues",
    submit="Resolve",
    perform=_resolve,
)


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(ReadOnlyLedgerAdmin):
    """Issues are read-only; staff resolve them with a reason through the action (audited)."""

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
    fields = ISSUE_FIELDS
    readonly_fields = ISSUE_FIELDS
    actions = [resolve_issues]

    has_resolve_reconciliation_issue_permission = permission_check("wallet.resolve_reconciliation_issue")


# ---------------------------------------------------------------- staff moderation


def _admin_link(app_label: str, model: str, object_id: object, label: str) -> str:
    """A link to a row's admin page, or just its label when that model has none."""
    try:
        url = reverse(f"admin:{app_label}_{model}_change", args=[object_id])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


def _pretty_json(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


AUDIT_FIELDS = (
    "created_at",
    "actor",
    "action",
    "target",
    "reason",
    "before_json",
    "after_json",
    "transaction",
)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyLedgerAdmin):
    list_display = ["created_at", "actor", "action", "target", "reason", "transaction"]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["=target_id", "target_repr", "actor__email", "reason", "action"]
    list_select_related = ["actor", "target_type", "transaction"]
    date_hierarchy = "created_at"
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS

    @admin.display(description="target")
    def target(self, entry: AuditEntry) -> str:
        if entry.target_type is None:
            return "-"
        ct = entry.target_type
        return _admin_link(ct.app_label, ct.model, entry.target_id, entry.target_repr or entry.target_id)

    @admin.display(description="before")
    def before_json(self, entry: AuditEntry) -> str:
        return _pretty_json(entry.before)

    @admin.display(description="after")
    def after_json(self, entry: AuditEntry) -> str:
        return _pretty_json(entry.after)


def _approve(request: AdjustmentRequest, staff: User, data: dict[str, Any]) -> str:
    done = adjustments.approve_adjustment(request_id=request.pk, staff=staff, note=data["reason"])
    return f"Adjustment #{done.pk} approved and applied (ledger transaction #{done.transaction_id})."


def _reject(request: AdjustmentRequest, staff: User, data: dict[str, Any]) -> str:
    adjustments.reject_adjustment(request_id=request.pk, staff=staff, note=data["reason"])
    return f"Adjustment #{request.pk} rejected; nothing moved."


def _apply(request: AdjustmentRequest, staff: User, data: dict[str, Any]) -> str:
    done = adjustments.apply_adjustment(request_id=request.pk, staff=staff)
    return f"Adjustment #{done.pk} applied (ledger transaction #{done.transaction_id})."


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(ReadOnlyLedgerAdmin):
    """Adjustments are requested from the accounts list (action "Adjust balance"); large ones
    are approved here by a second staff member."""

    list_display = [
        "id",
        "account",
        "amount",
        "status",
        "requested_by",
        "approved_by",
        "rejected_by",
        "created_at",
        "applied_at",
        "transaction",
        "last_error",
    ]
    list_filter = ["status", "account__unit", "account__kind"]
    search_fields = ["=id", "account__owner__email", "requested_by__email", "reason"]
    list_select_related = ["account__owner", "requested_by", "approved_by", "rejected_by", "transaction"]
    actions = [
        reason_action(
            name="approve_adjustments",
            permission="wallet.approve_adjustment",
            description="Approve and apply selected adjustments",
            submit="Approve",
            perform=_approve,
            intro="You cannot approve an adjustment you requested.",
        ),
        reason_action(
            name="reject_adjustments",
            permission="wallet.approve_adjustment",
            description="Reject selected adjustments",
            submit="Reject",
            perform=_reject,
        ),
        reason_action(
            name="apply_adjustments",
            permission="wallet.approve_adjustment",
            description="Retry applying selected approved adjustments",
            submit="Apply",
            perform=_apply,
            form_class=OptionalReasonForm,
        ),
    ]

    has_approve_adjustment_permission = permission_check("wallet.approve_adjustment")


REPORT_FIELDS = (
    "created_at",
    "reporter",
    "target_kind",
    "target",
    "reason",
    "details",
    "status",
    "handled_by",
    "handled_at",
    "resolution_note",
)


def _close_reports(status: str, verb: str) -> Any:
    def close(report: Report, staff: User, data: dict[str, Any]) -> str:
        reports.close_report(report_id=report.pk, staff=staff, status=status, note=data["reason"])
        return f"Report #{report.pk} {verb}."

    return close


@admin.register(Report)
class ReportAdmin(ReadOnlyLedgerAdmin):
    """The report queue: open reports first; act on the target from its own admin page (its
    open reports are then marked actioned), or close them here."""

    list_display = ["created_at", "target_kind", "target", "reason", "reporter", "status", "handled_by"]
    list_filter = ["status", "reason", "target_type"]
    search_fields = ["=target_id", "target_repr", "reporter__email", "details"]
    list_select_related = ["reporter", "target_type", "handled_by"]
    fields = REPORT_FIELDS
    readonly_fields = REPORT_FIELDS
    actions = [
        reason_action(
            name="action_reports",
            permission="wallet.handle_report",
            description="Mark selected reports actioned",
            submit="Mark actioned",
            perform=_close_reports(Report.Status.ACTIONED, "marked actioned"),
        ),
        reason_action(
            name="dismiss_reports",
            permission="wallet.handle_report",
            description="Dismiss selected reports",
            submit="Dismiss",
            perform=_close_reports(Report.Status.DISMISSED, "dismissed"),
        ),
    ]

    has_handle_report_permission = permission_check("wallet.handle_report")
    # The queue order: open reports first, oldest first.
    ordering = [Case(When(status=Report.Status.OPEN, then=0), default=1).asc(), "created_at"]

    @admin.display(description="type", ordering="target_type")
    def target_kind(self, report: Report) -> str:
        return str(report.target_type.name)

    @admin.display(description="target")
    def target(self, report: Report) -> str:
        ct = report.target_type
        return _admin_link(ct.app_label, ct.model, report.target_id, report.target_repr)
