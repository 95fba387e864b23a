"""Reads of the ledger: exact balances and histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from wallet.models import Account, CoinPackage, Entry, LedgerCheck, Unit


def balance_of(*, account_id: int) -> int:
    """The exact balance: settled balance plus pending (not yet rolled up) deltas."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.balance + COALESCE((SELECT sum(d.amount) FROM wallet_accountdelta d WHERE d.account_id = a.id), 0)
              FROM wallet_account a WHERE a.id = %s
            """,
            [account_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _owned_balance(user_id: int, kind: str, unit: str) -> int:
    account_id = (
        Account.objects.filter(owner_id=user_id, kind=kind, unit=unit).values_list("id", flat=True).first()
    )
    return balance_of(account_id=account_id) if account_id else 0


def coin_balance(*, user_id: int) -> int:
    return _owned_balance(user_id, Account.Kind.USER_COINS, Unit.COIN)


def diamond_balance(*, user_id: int) -> int:
    """A creator's exact diamond balance, including gifts not yet rolled up."""
    return _owned_balance(user_id, Account.Kind.CREATOR_DIAMONDS, Unit.DIAMOND)


def wallet_of(*, user_id: int) -> Account | None:
    return Account.objects.filter(owner_id=user_id, kind=Account.Kind.USER_COINS).first()


@dataclass(frozen=True)
class HistoryLine:
    when: datetime
    kind: str
    kind_label: str
    amount: int
    memo: str
    reference: str


def coin_history(*, user_id: int, limit: int = 50) -> list[HistoryLine]:
    entries = (
        Entry.objects.filter(account__owner_id=user_id, account__kind=Account.Kind.USER_COINS)
        .select_related("transaction")
        .order_by("-id")[:limit]
    )
    return [
        HistoryLine(
            when=e.created_at,
            kind=e.transaction.kind,
            kind_label=e.transaction.get_kind_display(),
            amount=e.amount,
            memo=e.transaction.memo,
            reference=e.transaction.reference,
        )
        for e in entries
    ]


def coin_entries(*, user_id: int) -> QuerySet[Entry]:
    """Every entry of a viewer's coin wallet, newest first (the API pages through them)."""
    return (
        Entry.objects.filter(account__owner_id=user_id, account__kind=Account.Kind.USER_COINS)
        .select_related("transaction")
        .order_by("-id")
    )


def active_packages() -> QuerySet[CoinPackage]:
    return CoinPackage.objects.filter(active=True).order_by("sort_order", "coins")


def last_ledger_check() -> LedgerCheck | None:
    return LedgerCheck.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
