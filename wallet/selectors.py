"""Reads of the ledger: exact balances and histories. Other apps read wallet tables only through
these functions, or in their own SQL through the wallet's SQL functions (wallet/sql/accounts.sql:
`wallet_balance`, `wallet_creator_entries`, `wallet_creator_accounts`, `wallet_display_name`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date as datetime_date
from datetime import datetime
from typing import IO

from django.db import connection
from django.db.models import QuerySet

from wallet.models import Account, CoinPackage, Entry, LedgerCheck, Transaction, Unit, User, public_name


def balance_of(*, account_id: int) -> int:
    """The exact balance: settled balance plus pending (not yet rolled up) deltas (0 for no
    such account). The SQL function `wallet_balance` is the one definition."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wallet_balance(%s::bigint)", [account_id])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


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


def diamond_account_id_of(*, user_id: int) -> int | None:
    """The id of the user's diamond account; None until the user is approved as a creator."""
    return (
        Account.objects.filter(owner_id=user_id, kind=Account.Kind.CREATOR_DIAMONDS, unit=Unit.DIAMOND)
        .values_list("id", flat=True)
        .first()
    )


def public_names(*, user_ids: Iterable[int]) -> dict[int, str]:
    """What other viewers see of these users (see `wallet.models.public_name`), by id."""
    return {
        uid: public_name(display_name, uid)
        for uid, display_name in User.objects.filter(pk__in=list(user_ids)).values_list("id", "display_name")
    }


def transaction_legs(*, transaction_id: int) -> list[tuple[int, int]]:
    """(account id, amount) of every entry of one ledger transaction, in entry order."""
    return [
        (int(account_id), int(amount))
        for account_id, amount in Entry.objects.filter(transaction_id=transaction_id)
        .order_by("id")
        .values_list("account_id", "amount")
    ]


def first_transaction_at() -> datetime | None:
    """When the first ledger transaction was created (None on an empty ledger)."""
    return Transaction.objects.order_by("created_at").values_list("created_at", flat=True).first()


@dataclass(frozen=True)
class HistoryLine:
    when: datetime
    kind: str
    kind_label: str
    amount: int
    memo: str
    reference: str


def coin_history(*, user_id: int, limit: int = 50) -> list[HistoryLine]:
    return _history(
        Entry.objects.filter(account__owner_id=user_id, account__kind=Account.Kind.USER_COINS), limit
    )


def account_history(*, account_id: int, limit: int = 15) -> list[HistoryLine]:
    """The account's latest entries, newest first."""
    return _history(Entry.objects.filter(account_id=account_id), limit)


def _history(entries: QuerySet[Entry], limit: int) -> list[HistoryLine]:
    entries = entries.select_related("transaction").order_by("-id")[:limit]
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


def creator_entries_by_day_and_kind(
    *, account_id: int, since: datetime
) -> list[tuple[datetime_date, str, int, int]]:
    """(UTC day, transaction kind, sum, count) of a creator diamond account's entries of
    transactions created at or after `since`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (created_at AT TIME ZONE 'UTC')::date, kind, sum(amount), count(*)
              FROM wallet_creator_entries(%s::bigint, %s::timestamptz, NULL)
             GROUP BY 1, 2
            """,
            [account_id, since],
        )
        return [(day, kind, int(total), int(count)) for day, kind, total, count in cursor.fetchall()]


@dataclass(frozen=True)
class EntryTotals:
    entries: int
    credits: int
    debits: int
    total: int
    balance: int


# Every entry of the account in id order with its running balance; text that a spreadsheet
# would run as a formula is prefixed with a quote.
_ENTRIES_CSV_SQL = """
COPY (
    SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           e.transaction_id,
           t.kind,
           CASE WHEN left(t.reference, 1) IN ('=', '+', '-', '@') THEN '''' || t.reference ELSE t.reference END,
           e.amount,
           sum(e.amount) OVER (ORDER BY e.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      FROM wallet_entry e JOIN wallet_transaction t ON t.id = e.transaction_id
     WHERE e.account_id = %s
     ORDER BY e.id
) TO STDOUT (FORMAT CSV)
"""


def copy_entries_csv(*, account_id: int, out: IO[bytes]) -> EntryTotals:
    """Stream the account's entries to `out` as CSV rows (date, transaction, kind, reference,
    amount, running balance), then total them: count, credits, debits, sum and the exact
    balance. Call it in one snapshot (a REPEATABLE READ transaction) for totals that agree
    with the rows."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy(_ENTRIES_CSV_SQL, [account_id]) as copy:
            for chunk in copy:
                out.write(bytes(chunk))
        cursor.execute(
            """
            SELECT count(*), COALESCE(sum(amount) FILTER (WHERE amount > 0), 0),
                   COALESCE(sum(amount) FILTER (WHERE amount < 0), 0), COALESCE(sum(amount), 0),
                   COALESCE(wallet_balance(%s::bigint), 0)
              FROM wallet_entry WHERE account_id = %s
            """,
            [account_id, account_id],
        )
        count, credits, debits, total, balance = cursor.fetchone()
    return EntryTotals(
        entries=int(count), credits=int(credits), debits=int(debits), total=int(total), balance=int(balance)
    )
