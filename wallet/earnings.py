"""When creator diamonds are payable: the earnings hold and chargeback holds.

A creator's credits (every positive entry on their diamond account but a returned payout or a
restored reversal; the SQL view `wallet_earnings_credit` in wallet/sql/money.sql is the one
definition, and the SQL function `wallet_creator_earnings` there computes what is held) are
consumed oldest first, in the order (transaction created_at, transaction id): payouts and other
debits take the oldest, so the unpaid diamonds are always the newest credits worth the balance.
A refund or lost chargeback takes back the unpaid part of the credits its coins funded
(`EarningsReversal.diamonds_reversed`), which removes that part from the order; a refund that
failed undoes its reversals (`undone_at`) and gives the diamonds back in a transaction that is
not a new credit (`earnings_restore`), so the credit is whole again in its old place.

Held, never paid by a batch:
- credits younger than EARNINGS_HOLD_DAYS at `as_of` (the newest credits, so the held amount is
  their net total, capped at the balance);
- a credit funded by a purchase under an open dispute (`EarningsHold`) that is not paid yet,
  with every newer credit: payouts take the oldest diamonds first and stop at a held one, so
  which diamonds were paid is always the oldest ones.

`as_of` is when the hold is measured (a batch passes its own time; drills pass a later one).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from wallet.models import EarningsReversal


def diamonds_to_cents(diamonds: int, rate: int | None = None) -> int:
    """The cash value of diamonds in whole cents at `rate` millicents a diamond (default
    DIAMOND_VALUE_MILLICENTS), rounded down. The one Python definition: payouts, the studio,
    the API and the loss report use it; SQL uses its twin `wallet_diamonds_to_cents`."""
    return diamonds * (settings.DIAMOND_VALUE_MILLICENTS if rate is None else rate) // 1000


def diamonds_covering(cents: int, rate: int | None = None) -> int:
    """The fewest diamonds worth exactly `cents` (`diamonds_to_cents` of them is `cents`); paying
    these out of a balance worth `cents` leaves a remainder worth less than one cent. SQL twin:
    `wallet_diamonds_covering`."""
    rate = settings.DIAMOND_VALUE_MILLICENTS if rate is None else rate
    return (cents * 1000 + rate - 1) // rate


def hold_cutoff(as_of: datetime.datetime | None = None) -> datetime.datetime:
    return (as_of or timezone.now()) - datetime.timedelta(days=settings.EARNINGS_HOLD_DAYS)


# A cut-off no credit is younger than: only what open disputes hold.
_DISPUTES_ONLY = datetime.datetime.max.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Availability:
    when: datetime.date
    diamonds: int


@dataclass(frozen=True)
class PayableEarnings:
    balance: int
    payable: int
    held: int
    # Held by the hold period: when each part becomes payable, soonest first.
    schedule: list[Availability]
    # Held because a chargeback on the coins that funded them is open.
    held_for_disputes: int


def _balances_and_held(account_ids: Sequence[int], cutoff: datetime.datetime) -> dict[int, tuple[int, int]]:
    if not account_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, balance, held FROM wallet_creator_earnings(%s, %s::bigint[])",
            [cutoff, list(account_ids)],
        )
        return {int(account): (int(balance), int(held)) for account, balance, held in cursor.fetchall()}


def payable_diamonds(*, account_ids: Sequence[int], as_of: datetime.datetime | None = None) -> dict[int, int]:
    """Payable diamonds of these creator diamond accounts at `as_of`."""
    rows = _balances_and_held(account_ids, hold_cutoff(as_of))
    return {account: balance - held for account, (balance, held) in rows.items()}


def held_for_disputes(*, account_id: int) -> tuple[int, int]:
    """This account's exact balance, and the diamonds of it that open disputes hold, whatever
    the hold period says (one statement)."""
    return held_for_disputes_of(account_ids=[account_id]).get(account_id, (0, 0))


def held_for_disputes_of(*, account_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """`held_for_disputes` of many accounts in one statement (accounts with no row are absent)."""
    return _balances_and_held(account_ids, _DISPUTES_ONLY)


def payable_earnings(*, account_id: int, as_of: datetime.datetime | None = None) -> PayableEarnings:
    """A creator's balance split into payable now and held, with the dates held diamonds clear."""
    as_of = as_of or timezone.now()
    cutoff = hold_cutoff(as_of)
    zone = timezone.get_default_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT balance, held FROM wallet_creator_earnings(%s, ARRAY[%s]::bigint[])",
            [cutoff, account_id],
        )
        row = cursor.fetchone()
        balance, held = (int(row[0]), int(row[1])) if row else (0, 0)
        cursor.execute(
            """
            SELECT ((c.created_at + make_interval(days => %(hold)s)) AT TIME ZONE %(zone)s)::date AS day,
                   sum(c.diamonds)::bigint
              FROM wallet_earnings_credit c
             WHERE c.account_id = %(account)s AND c.created_at > %(cutoff)s
             GROUP BY day HAVING sum(c.diamonds) <> 0 ORDER BY day DESC
            """,
            {"hold": settings.EARNINGS_HOLD_DAYS, "zone": zone, "account": account_id, "cutoff": cutoff},
        )
        by_day = [(day, int(diamonds)) for day, diamonds in cursor.fetchall()]
    # The unpaid diamonds are the newest credits: fill the schedule from the newest day back.
    left = balance
    schedule = []
    for day, diamonds in by_day:
        part = min(diamonds, left)
        if part > 0:
            schedule.append(Availability(when=day, diamonds=part))
        left -= max(part, 0)
    schedule.reverse()
    in_hold = sum(item.diamonds for item in schedule)
    return PayableEarnings(
        balance=balance,
        payable=balance - held,
        held=held,
        schedule=schedule,
        held_for_disputes=max(held - in_hold, 0),
    )


_UNPAID_SQL = """
SELECT COALESCE(sum(c.diamonds) FILTER (WHERE (c.created_at, c.transaction_id) > (%(at)s, %(txn)s)), 0),
       COALESCE(sum(c.diamonds) FILTER (WHERE c.transaction_id = %(txn)s), 0)
  FROM wallet_earnings_credit c
 WHERE c.account_id = %(account)s AND (c.created_at, c.transaction_id) >= (%(at)s, %(txn)s)
"""


def unpaid_of_credit(
    *, account_id: int, transaction_id: int, created_at: datetime.datetime, balance: int
) -> int:
    """How much of one credit is still unpaid, given the account's exact `balance` (the unpaid
    diamonds are the newest credits worth the balance)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNPAID_SQL, {"account": account_id, "txn": transaction_id, "at": created_at})
        newer, own = cursor.fetchone()
    return max(0, min(int(own), balance - int(newer)))


@dataclass(frozen=True)
class ChargebackLosses:
    reversals: int
    purchases: int
    diamonds_reversed: int
    diamonds_lost: int
    # The diamonds lost at the diamond cash rate: what the platform paid out of those coins.
    cents_lost: int


def chargeback_losses(*, since: datetime.datetime | None = None) -> ChargebackLosses:
    """Staff report: diamonds refunds and lost chargebacks took back from creators, and the
    diamonds already paid out of those coins (the platform's loss), also in cents."""
    # A reversal a failed refund undid took nothing and lost nothing.
    rows = EarningsReversal.objects.filter(undone_at__isnull=True)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    totals = rows.aggregate(
        n=Count("id"),
        purchases=Count("purchase", distinct=True),
        reversed=Sum("diamonds_reversed"),
        lost=Sum("diamonds_lost"),
    )
    lost = int(totals["lost"] or 0)
    return ChargebackLosses(
        reversals=int(totals["n"] or 0),
        purchases=int(totals["purchases"] or 0),
        diamonds_reversed=int(totals["reversed"] or 0),
        diamonds_lost=lost,
        cents_lost=diamonds_to_cents(lost),
    )
