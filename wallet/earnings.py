"""When creator diamonds are payable: the earnings hold and chargeback holds.

A creator's credits (every positive entry on their diamond account but a returned payout) are
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

# One row per creator diamond account: its exact balance and what of it is held. `%(cutoff)s`
# is `as_of` minus the hold; the `{on_*}` conditions narrow every part to some accounts.
_HELD_SQL = """
recent AS (
    SELECT e.account_id, sum(e.amount)::bigint AS diamonds
      FROM wallet_transaction t JOIN wallet_entry e ON e.transaction_id = t.id
     WHERE t.created_at > %(cutoff)s AND t.kind NOT IN ('payout_return', 'earnings_restore') AND e.amount > 0 AND e.unit = 'DIAMOND'
       {on_e}
     GROUP BY e.account_id
    UNION ALL
    SELECT r.account_id, -sum(r.diamonds_reversed)::bigint
      FROM wallet_earningsreversal r WHERE r.undone_at IS NULL AND r.credit_created_at > %(cutoff)s {on_r}
     GROUP BY r.account_id
), disputed AS (
    SELECT DISTINCT h.account_id, h.credit_transaction_id AS txn, h.credit_created_at AS at
      FROM wallet_earningshold h
      JOIN wallet_purchasedispute d ON d.id = h.dispute_id AND d.status = 'open'
     WHERE true {on_h}
), from_disputed AS (
    SELECT x.account_id,
           (SELECT COALESCE(sum(e.amount), 0) FROM wallet_entry e JOIN wallet_transaction t ON t.id = e.transaction_id
             WHERE e.account_id = x.account_id AND e.amount > 0 AND t.kind NOT IN ('payout_return', 'earnings_restore')
               AND (t.created_at, t.id) >= (x.at, x.txn))
         - (SELECT COALESCE(sum(r.diamonds_reversed), 0) FROM wallet_earningsreversal r
             WHERE r.undone_at IS NULL AND r.account_id = x.account_id AND (r.credit_created_at, r.credit_transaction_id) >= (x.at, x.txn))
           AS through,
           (SELECT COALESCE(sum(e.amount), 0) FROM wallet_entry e
             WHERE e.account_id = x.account_id AND e.transaction_id = x.txn AND e.amount > 0)
         - (SELECT COALESCE(sum(r.diamonds_reversed), 0) FROM wallet_earningsreversal r
             WHERE r.undone_at IS NULL AND r.account_id = x.account_id AND r.credit_transaction_id = x.txn)
           AS own
      FROM disputed x
), held AS (
    SELECT a.id AS account_id, bal.diamonds AS balance,
           LEAST(bal.diamonds, GREATEST(COALESCE(rc.diamonds, 0), COALESCE(fd.through, 0)))::bigint AS held
      FROM wallet_account a
     CROSS JOIN LATERAL (SELECT wallet_balance(a.id) AS diamonds) bal
      LEFT JOIN (SELECT account_id, sum(diamonds)::bigint AS diamonds FROM recent GROUP BY account_id) rc
        ON rc.account_id = a.id
      LEFT JOIN LATERAL (
            -- a disputed credit already paid in full holds nothing
            SELECT max(f.through) AS through FROM from_disputed f
             WHERE f.account_id = a.id AND f.through - f.own < bal.diamonds
           ) fd ON true
     WHERE a.kind = 'creator_diamonds' {on_a}
)
"""


def held_ctes(*, accounts: str = "") -> str:
    """The CTEs (without `WITH`) ending in `held(account_id, balance, held)`; parameter `cutoff`.
    `accounts` is an SQL condition on an account id (e.g. `= %(account)s`), empty for every
    creator. Payout batches plan from these, so the page and the batch read one rule."""
    where = {
        name: f"AND {alias}.account_id {accounts}" if accounts else ""
        for name, alias in (("on_e", "e"), ("on_r", "r"), ("on_h", "h"))
    }
    return _HELD_SQL.format(on_a=f"AND a.id {accounts}" if accounts else "", **where)


def diamonds_to_cents(diamonds: int, rate: int | None = None) -> int:
    """The cash value of diamonds in whole cents at `rate` millicents a diamond (default
    DIAMOND_VALUE_MILLICENTS), rounded down: payouts, the studio and the loss report use this."""
    return diamonds * (settings.DIAMOND_VALUE_MILLICENTS if rate is None else rate) // 1000


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
            "WITH "
            + held_ctes(accounts="= ANY(%(accounts)s)")
            + " SELECT account_id, balance, held FROM held",
            {"cutoff": cutoff, "accounts": list(account_ids)},
        )
        return {int(account): (int(balance), int(held)) for account, balance, held in cursor.fetchall()}


def payable_diamonds(*, account_ids: Sequence[int], as_of: datetime.datetime | None = None) -> dict[int, int]:
    """Payable diamonds of these creator diamond accounts at `as_of`."""
    rows = _balances_and_held(account_ids, hold_cutoff(as_of))
    return {account: balance - held for account, (balance, held) in rows.items()}


def held_for_disputes(*, account_id: int) -> tuple[int, int]:
    """This account's exact balance, and the diamonds of it that open disputes hold, whatever
    the hold period says (one statement)."""
    return _balances_and_held([account_id], _DISPUTES_ONLY).get(account_id, (0, 0))


def payable_earnings(*, account_id: int, as_of: datetime.datetime | None = None) -> PayableEarnings:
    """A creator's balance split into payable now and held, with the dates held diamonds clear."""
    as_of = as_of or timezone.now()
    cutoff = hold_cutoff(as_of)
    zone = timezone.get_default_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH " + held_ctes(accounts="= %(account)s") + " SELECT balance, held FROM held",
            {"cutoff": cutoff, "account": account_id},
        )
        row = cursor.fetchone()
        balance, held = (int(row[0]), int(row[1])) if row else (0, 0)
        cursor.execute(
            """
            SELECT day, sum(diamonds)::bigint FROM (
                SELECT ((t.created_at + make_interval(days => %(hold)s)) AT TIME ZONE %(zone)s)::date AS day, e.amount AS diamonds
                  FROM wallet_entry e JOIN wallet_transaction t ON t.id = e.transaction_id
                 WHERE e.account_id = %(account)s AND t.created_at > %(cutoff)s
                   AND t.kind NOT IN ('payout_return', 'earnings_restore') AND e.amount > 0
                UNION ALL
                SELECT ((r.credit_created_at + make_interval(days => %(hold)s)) AT TIME ZONE %(zone)s)::date, -r.diamonds_reversed
                  FROM wallet_earningsreversal r
                 WHERE r.undone_at IS NULL AND r.account_id = %(account)s AND r.credit_created_at > %(cutoff)s
            ) credits GROUP BY day HAVING sum(diamonds) <> 0 ORDER BY day DESC
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
SELECT (SELECT COALESCE(sum(e.amount), 0) FROM wallet_entry e JOIN wallet_transaction t ON t.id = e.transaction_id
         WHERE e.account_id = %(account)s AND e.amount > 0 AND t.kind NOT IN ('payout_return', 'earnings_restore')
           AND (t.created_at, t.id) > (%(at)s, %(txn)s))
     - (SELECT COALESCE(sum(r.diamonds_reversed), 0) FROM wallet_earningsreversal r
         WHERE r.undone_at IS NULL AND r.account_id = %(account)s AND (r.credit_created_at, r.credit_transaction_id) > (%(at)s, %(txn)s)),
       (SELECT COALESCE(sum(e.amount), 0) FROM wallet_entry e
         WHERE e.account_id = %(account)s AND e.transaction_id = %(txn)s AND e.amount > 0)
     - (SELECT COALESCE(sum(r.diamonds_reversed), 0) FROM wallet_earningsreversal r
         WHERE r.undone_at IS NULL AND r.account_id = %(account)s AND r.credit_transaction_id = %(txn)s)
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
