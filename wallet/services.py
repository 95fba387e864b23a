"""The only writer of balances: every movement of coins or diamonds is one balanced
transaction posted by `post_transaction`.

The hot creator
---------------
Ten thousand viewers gifting one creator must not queue on one row lock. Creator
diamond accounts and the system accounts every gift touches use *deferred* posting:
a credit inserts an `AccountDelta` row (append-only, no row lock shared with other
gifts) next to its ledger entries, and the creator's exact balance is
`Account.balance + sum(AccountDelta.amount)` (see `wallet.selectors.balance_of`).
`roll_up_account` folds the deltas into the balance (DELETE ... RETURNING under the
account's row lock, so a delta is counted exactly once even while new ones arrive); a
periodic task rolls up every account with pending deltas. Debits of a creator balance
(payouts, clawbacks) take the strict path: fold first, then one conditional
`UPDATE ... WHERE balance >= x`. Viewer wallets are strict: every debit is that
conditional update, so a wallet never goes below zero and zero rows updated means
insufficient funds, not a race.

All of this runs inside the PL/pgSQL function `wallet_post_transaction`
(wallet/sql/ledger.sql): one round trip per transaction, with the same guarantees.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db import utils as db_utils
from django.db.models.signals import post_migrate
from django.utils import timezone

from wallet import errors
from wallet.models import Account, AccountDelta, DailySpend, LedgerCheck, Transaction, Unit, User

logger = logging.getLogger(__name__)

SYSTEM_POSTING = {
    Account.Kind.COIN_ISSUANCE: (Account.Posting.DEFERRED, True),
    Account.Kind.COIN_SPENT: (Account.Posting.DEFERRED, True),
    Account.Kind.DIAMOND_ISSUANCE: (Account.Posting.DEFERRED, True),
    Account.Kind.PLATFORM_REVENUE: (Account.Posting.DEFERRED, True),
    Account.Kind.PAYOUTS_IN_FLIGHT: (Account.Posting.STRICT, True),
    Account.Kind.PAID_OUT: (Account.Posting.DEFERRED, True),
    Account.Kind.RECEIVABLE: (Account.Posting.STRICT, True),
    Account.Kind.ADJUSTMENTS: (Account.Posting.DEFERRED, True),
    Account.Kind.ESCROW: (Account.Posting.STRICT, True),
}

_system_account_ids: dict[tuple[str, str], int] = {}


def forget_cached_accounts(**_: object) -> None:
    """Accounts are never deleted, so their ids are cached; a flush or migration can renumber them."""
    _system_account_ids.clear()


post_migrate.connect(forget_cached_accounts, dispatch_uid="wallet-forget-cached-accounts")


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: int


@dataclass(frozen=True)
class PostedTransaction:
    id: int
    created: bool


# ---------------------------------------------------------------- accounts


def system_account_id(kind: str, unit: str) -> int:
    key = (kind, unit)
    found = _system_account_ids.get(key)
    if found is None:
        posting, allow_negative = SYSTEM_POSTING[Account.Kind(kind)]
        try:
            account, _ = Account.objects.get_or_create(
                kind=kind,
                unit=unit,
                owner=None,
                defaults={"posting": posting, "allow_negative": allow_negative},
            )
        except IntegrityError:
            account = Account.objects.get(kind=kind, unit=unit, owner=None)
        found = _system_account_ids[key] = account.pk
    return found


def _owned_account(user_id: int, kind: str, unit: str, posting: str) -> Account:
    account = Account.objects.filter(kind=kind, unit=unit, owner_id=user_id).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(kind=kind, unit=unit, owner_id=user_id, posting=posting)
    except IntegrityError:
        return Account.objects.get(kind=kind, unit=unit, owner_id=user_id)


def coin_account(*, user_id: int) -> Account:
    return _owned_account(user_id, Account.Kind.USER_COINS, Unit.COIN, Account.Posting.STRICT)


def diamond_account(*, user_id: int) -> Account:
    return _owned_account(user_id, Account.Kind.CREATOR_DIAMONDS, Unit.DIAMOND, Account.Posting.DEFERRED)


# ---------------------------------------------------------------- posting


def _fingerprint(kind: str, legs: Sequence[Leg], reference: str) -> str:
    canonical = json.dumps(
        {"kind": kind, "reference": reference, "legs": sorted((leg.account_id, leg.amount) for leg in legs)},
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


_SQLSTATE_ERRORS: dict[str, type[errors.CoinSiteError]] = {
    "CS402": errors.InsufficientCoins,
    "CS409": errors.IdempotencyConflict,
    "CS422": errors.UnbalancedTransaction,
    "CS423": errors.AccountFrozen,
}


def domain_error_from(exc: db_utils.Error) -> errors.CoinSiteError | None:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    error_type = _SQLSTATE_ERRORS.get(sqlstate or "")
    if error_type is None:
        return None
    diag = getattr(exc.__cause__, "diag", None)
    detail = getattr(diag, "message_detail", None)
    return error_type(extra={"account_id": int(detail)} if detail and detail.isdigit() else None)


def post_transaction(
    *,
    kind: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    reference: str = "",
    memo: str = "",
    created_by: User | None = None,
    allow_frozen: bool = False,
    savepoint: bool = True,
) -> PostedTransaction:
    """Post one balanced transaction; a replay of `idempotency_key` returns the first one.

    Raises InsufficientCoins, AccountFrozen, IdempotencyConflict or UnbalancedTransaction;
    nothing moves when it raises. Inside an outer `atomic` block a savepoint keeps the
    outer block usable after an error; a hot path that lets every error abort its whole
    transaction passes `savepoint=False` to save two round trips.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise errors.InvalidRequest("An idempotency key of 1 to 200 characters is required.")
    if len(legs) < 2:
        raise errors.UnbalancedTransaction("A transaction needs at least two legs.")
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount == 0:
            raise errors.UnbalancedTransaction("Every leg moves a non-zero whole amount.")
        if abs(leg.amount) >= 2**62:
            raise errors.InvalidRequest("That amount is too large.")
    fingerprint = _fingerprint(kind, legs, reference)
    try:
        with transaction.atomic(savepoint=savepoint), connection.cursor() as cursor:
            cursor.execute(
                "SELECT transaction_id, created FROM wallet_post_transaction(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    kind,
                    idempotency_key,
                    fingerprint,
                    reference[:200],
                    memo[:255],
                    created_by.pk if created_by is not None else None,
                    [leg.account_id for leg in legs],
                    [leg.amount for leg in legs],
                    allow_frozen,
                ],
            )
            txn_id, created = cursor.fetchone()
    except db_utils.Error as exc:
        domain = domain_error_from(exc)
        if domain is None:
            raise
        raise domain from exc
    return PostedTransaction(id=txn_id, created=created)


# ---------------------------------------------------------------- spending


@dataclass(frozen=True)
class Spend:
    transaction: PostedTransaction
    coins: int
    diamonds: int


def creator_share(coins: int, percent: int | None = None) -> int:
    """Diamonds a creator earns from `coins` spent on an unlock or merch (rounded down)."""
    share = settings.CREATOR_SHARE_PERCENT if percent is None else percent
    return coins * share // 100


def check_can_spend(user: User) -> None:
    if not user.is_adult:
        raise errors.AgeRestricted()


def spend_coins(
    *,
    spender: User,
    coins: int,
    creator_user_id: int,
    diamonds: int,
    kind: str,
    idempotency_key: str,
    reference: str = "",
    memo: str = "",
    hold_earnings: bool = False,
    savepoint: bool = True,
) -> Spend:
    """A viewer spends `coins`; the creator earns `diamonds` (the rest is platform revenue).

    Age and the daily cap are checked in the same database transaction as the debit.
    With `hold_earnings` the diamonds go to escrow until `release_held_earnings`.
    `savepoint` as in `post_transaction`.
    """
    if not isinstance(coins, int) or coins <= 0:
        raise errors.InvalidRequest("The amount of coins must be a positive whole number.")
    if not 0 <= diamonds <= coins:
        raise errors.InvalidRequest("A creator cannot earn more diamonds than the coins spent.")
    check_can_spend(spender)
    cap = settings.DAILY_SPEND_CAP_COINS
    if coins > cap:
        raise errors.DailyCapReached()
    viewer = coin_account(user_id=spender.pk)
    legs = [
        Leg(viewer.pk, -coins),
        Leg(system_account_id(Account.Kind.COIN_SPENT, Unit.COIN), diamonds),
    ]
    if coins - diamonds:
        legs.append(Leg(system_account_id(Account.Kind.PLATFORM_REVENUE, Unit.COIN), coins - diamonds))
    if diamonds:
        earner = (
            system_account_id(Account.Kind.ESCROW, Unit.DIAMOND)
            if hold_earnings
            else diamond_account(user_id=creator_user_id).pk
        )
        legs += [
            Leg(system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND), -diamonds),
            Leg(earner, diamonds),
        ]
    legs = [leg for leg in legs if leg.amount]
    with transaction.atomic(savepoint=savepoint):
        posted = post_transaction(
            kind=kind,
            legs=legs,
            idempotency_key=idempotency_key,
            reference=reference,
            memo=memo,
            savepoint=False,
        )
        if posted.created:
            _count_daily_spend(spender.pk, coins, cap)
    return Spend(transaction=posted, coins=coins, diamonds=diamonds)


def _count_daily_spend(user_id: int, coins: int, cap: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO wallet_dailyspend (user_id, day, coins) VALUES (%s, (now() AT TIME ZONE 'UTC')::date, %s)
            ON CONFLICT (user_id, day) DO UPDATE SET coins = wallet_dailyspend.coins + EXCLUDED.coins
             WHERE wallet_dailyspend.coins + EXCLUDED.coins <= %s
            RETURNING coins
            """,
            [user_id, coins, cap],
        )
        if cursor.fetchone() is None:
            raise errors.DailyCapReached()


def daily_spend_today(user_id: int) -> int:
    row = DailySpend.objects.filter(user_id=user_id, day=timezone.now().date()).values_list(
        "coins", flat=True
    )
    return int(row.first() or 0)


def release_held_earnings(
    *, creator_user_id: int, diamonds: int, idempotency_key: str, reference: str
) -> PostedTransaction:
    escrow = system_account_id(Account.Kind.ESCROW, Unit.DIAMOND)
    return post_transaction(
        kind=Transaction.Kind.MERCH_RELEASE,
        legs=[Leg(escrow, -diamonds), Leg(diamond_account(user_id=creator_user_id).pk, diamonds)],
        idempotency_key=idempotency_key,
        reference=reference,
    )


def issue_coins(
    *,
    user: User,
    coins: int,
    idempotency_key: str,
    kind: str = Transaction.Kind.PURCHASE,
    reference: str = "",
    memo: str = "",
) -> PostedTransaction:
    """Credit a viewer with newly issued coins (a paid purchase, a staff grant, demo data)."""
    if not isinstance(coins, int) or coins <= 0:
        raise errors.InvalidRequest("The amount of coins must be a positive whole number.")
    return post_transaction(
        kind=kind,
        legs=[
            Leg(system_account_id(Account.Kind.COIN_ISSUANCE, Unit.COIN), -coins),
            Leg(coin_account(user_id=user.pk).pk, coins),
        ],
        idempotency_key=idempotency_key,
        reference=reference,
        memo=memo,
    )


# ---------------------------------------------------------------- freezing


def set_frozen(*, account: Account, frozen: bool, reason: str) -> Account:
    Account.objects.filter(pk=account.pk).update(frozen=frozen, frozen_reason=reason if frozen else "")
    account.refresh_from_db(fields=["frozen", "frozen_reason"])
    return account


# ---------------------------------------------------------------- rollup


def roll_up_account(*, account_id: int) -> int:
    """Fold one deferred account's pending deltas into its balance; returns the amount folded."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT wallet_roll_up_account(%s)", [account_id])
        return int(cursor.fetchone()[0])


def roll_up_all() -> int:
    """Fold the deltas of every account that has some; returns how many accounts were folded."""
    account_ids = list(AccountDelta.objects.values_list("account_id", flat=True).distinct())
    for account_id in account_ids:
        roll_up_account(account_id=account_id)
    return len(account_ids)


# ---------------------------------------------------------------- invariant check


_CHECKS = {
    "unbalanced_transaction": """
        SELECT transaction_id, unit, sum(amount) FROM wallet_entry
         GROUP BY transaction_id, unit HAVING sum(amount) <> 0 ORDER BY 1 LIMIT 100
    """,
    "balance_mismatch": """
        SELECT a.id, a.balance + COALESCE(d.total, 0), COALESCE(e.total, 0)
          FROM wallet_account a
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM wallet_accountdelta GROUP BY 1) d ON d.account_id = a.id
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM wallet_entry GROUP BY 1) e ON e.account_id = a.id
         WHERE a.balance + COALESCE(d.total, 0) <> COALESCE(e.total, 0) ORDER BY 1 LIMIT 100
    """,
    "negative_balance": """
        SELECT a.id, a.balance + COALESCE((SELECT sum(amount) FROM wallet_accountdelta d WHERE d.account_id = a.id), 0), 0
          FROM wallet_account a
         WHERE NOT a.allow_negative
           AND a.balance + COALESCE((SELECT sum(amount) FROM wallet_accountdelta d WHERE d.account_id = a.id), 0) < 0
         ORDER BY 1 LIMIT 100
    """,
    "unit_mismatch": """
        SELECT e.id, e.unit, a.unit FROM wallet_entry e JOIN wallet_account a ON a.id = e.account_id
         WHERE e.unit <> a.unit ORDER BY 1 LIMIT 100
    """,
    "units_do_not_net_to_zero": """
        SELECT unit, sum(total), 0 FROM (
            SELECT a.unit, a.balance + COALESCE(sum(d.amount), 0) AS total
              FROM wallet_account a LEFT JOIN wallet_accountdelta d ON d.account_id = a.id
             GROUP BY a.id
        ) t GROUP BY unit HAVING sum(total) <> 0
    """,
}


def run_ledger_check() -> LedgerCheck:
    """Check every ledger invariant on one consistent snapshot and store the result.

    Every transaction balances per unit; every balance (settled + pending deltas) equals
    the sum of its entries; no user or creator balance is negative; entries match their
    account's unit; each unit nets to zero (coins issued = held + spent).
    """
    run = LedgerCheck.objects.create()
    problems: list[dict[str, object]] = []
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            # One snapshot for every query, so concurrent posting cannot look like corruption.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, sql in _CHECKS.items():
            cursor.execute(sql)
            for a, b, c in cursor.fetchall():
                problems.append({"kind": name, "subject": str(a), "found": str(b), "expected": str(c)})
        cursor.execute("SELECT count(*) FROM wallet_transaction")
        transactions_checked = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM wallet_account")
        accounts_checked = cursor.fetchone()[0]
    run.problems = problems
    run.ok = not problems
    run.transactions_checked = transactions_checked
    run.accounts_checked = accounts_checked
    run.finished_at = timezone.now()
    run.save()
    if problems:
        logger.error("ledger check found %d problems", len(problems), extra={"problems": problems[:20]})
    return run
