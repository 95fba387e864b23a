from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from wallet.models import Account, AccountDelta, CoinPackage, DailySpend, Entry, LedgerCheck, Transaction, User


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
