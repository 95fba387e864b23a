"""The only writer of balances: every movement of coins or diamonds is one balanced
transaction posted by `post_transaction`.

The hot creator
---------------
Ten thousand viewers gifting one creator must not queue on one row lock. Creator
diamond accounts and the system accounts every gift touches use *deferred* posting:
a credit inserts an `AccountDelta` row (append-only, no row lock shared with other
gifts) next to its ledger entries, and the creator's exact balance is
`Account.balance + sum(AccountDelta.amount)` (the SQL function `wallet_balance`, read by
`wallet.selectors.balance_of`).
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db import utils as db_utils
from django.utils import timezone

from coinsite.db import prepared_cursor
from wallet import errors
from wallet.models import Account, AccountDelta, DailySpend, LedgerCheck, Transaction, Unit, User

logger = logging.getLogger(__name__)

# Every system account, by (kind, unit): its posting mode and whether it may go negative.
SYSTEM_ACCOUNTS: dict[tuple[str, str], tuple[str, bool]] = {
    (Account.Kind.COIN_ISSUANCE, Unit.COIN): (Account.Posting.DEFERRED, True),
    (Account.Kind.COIN_SPENT, Unit.COIN): (Account.Posting.DEFERRED, True),
    (Account.Kind.PLATFORM_REVENUE, Unit.COIN): (Account.Posting.DEFERRED, True),
    (Account.Kind.RECEIVABLE, Unit.COIN): (Account.Posting.STRICT, True),
    (Account.Kind.ADJUSTMENTS, Unit.COIN): (Account.Posting.DEFERRED, True),
    (Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND): (Account.Posting.DEFERRED, True),
    (Account.Kind.PAYOUTS_IN_FLIGHT, Unit.DIAMOND): (Account.Posting.DEFERRED, True),
    (Account.Kind.PAID_OUT, Unit.DIAMOND): (Account.Posting.DEFERRED, True),
    (Account.Kind.ADJUSTMENTS, Unit.DIAMOND): (Account.Posting.DEFERRED, True),
    (Account.Kind.ESCROW, Unit.DIAMOND): (Account.Posting.DEFERRED, True),
}


@dataclass(frozen=True)
class AccountKey:
    """An account named by kind, unit and owner (None: the system account). A leg may name its
    account this way; the posting statement looks the id up itself (`wallet_account_id`), so the
    hot paths stay one round trip without caching ids in the process."""

    kind: str
    unit: str
    owner_id: int | None = None


@dataclass(frozen=True)
class Leg:
    account: int | AccountKey
    amount: int


@dataclass(frozen=True)
class PostedTransaction:
    id: int
    created: bool


# ---------------------------------------------------------------- accounts
#
# Accounts are provisioned, never created by a lookup: the system accounts by a data migration
# (and again after a flush, by `provision_system_accounts` on post_migrate), a user's coin wallet
# when the user is saved for the first time (`User.save`), a creator's diamond account when staff
# approve the creator (`creators.services.approve_creator`). Opening is idempotent.


def provision_system_accounts(*, using: str = "default") -> None:
    """Create the system accounts that do not exist yet (idempotent)."""
    Account.objects.using(using).bulk_create(
        [
            Account(kind=kind, unit=unit, owner=None, posting=posting, allow_negative=allow_negative)
            for (kind, unit), (posting, allow_negative) in SYSTEM_ACCOUNTS.items()
        ],
        ignore_conflicts=True,
    )


def provision_after_migrate(*, using: str = "default", **_: object) -> None:
    """post_migrate: the data migration created the system accounts; a test harness's or a
    drill's flush empties the table and emits post_migrate, so they are created again here."""
    if "wallet_account" not in connections[using].introspection.table_names():
        return  # migrated back before the ledger exists
    provision_system_accounts(using=using)


def open_coin_accounts(*, user_ids: Sequence[int]) -> None:
    """Open the coin wallets of these users (those that have one keep it). `User.save` opens a
    new user's; bulk loaders that bypass it call this."""
    Account.objects.bulk_create(
        [
            Account(
                kind=Account.Kind.USER_COINS, unit=Unit.COIN, owner_id=uid, posting=Account.Posting.STRICT
            )
            for uid in user_ids
        ],
        ignore_conflicts=True,
    )


def open_diamond_accounts(*, user_ids: Sequence[int]) -> None:
    """Open the diamond accounts of these creators' users (those that have one keep it).
    Approval opens a creator's; bulk loaders that bypass it call this."""
    Account.objects.bulk_create(
        [
            Account(
                kind=Account.Kind.CREATOR_DIAMONDS,
                unit=Unit.DIAMOND,
                owner_id=uid,
                posting=Account.Posting.DEFERRED,
            )
            for uid in user_ids
        ],
        ignore_conflicts=True,
    )


def coin_key(user_id: int) -> AccountKey:
    return AccountKey(Account.Kind.USER_COINS, Unit.COIN, user_id)


def diamond_key(user_id: int) -> AccountKey:
    return AccountKey(Account.Kind.CREATOR_DIAMONDS, Unit.DIAMOND, user_id)


def system_key(kind: str, unit: str) -> AccountKey:
    return AccountKey(kind, unit, None)


def account_of(key: AccountKey) -> Account:
    """The account `key` names; AccountNotFound when it was never provisioned."""
    account = Account.objects.filter(kind=key.kind, unit=key.unit, owner_id=key.owner_id).first()
    if account is None:
        who = "the system" if key.owner_id is None else f"user #{key.owner_id}"
        raise errors.AccountNotFound(
            f"There is no {Account.Kind(key.kind).label.lower()} account of {who}.",
            extra={"kind": key.kind, "unit": key.unit, "owner_id": key.owner_id},
        )
    return account


def system_account_id(kind: str, unit: str) -> int:
    return account_of(system_key(kind, unit)).pk


def coin_account_id(*, user_id: int) -> int:
    return account_of(coin_key(user_id)).pk


def diamond_account_id(*, user_id: int) -> int:
    return account_of(diamond_key(user_id)).pk


def coin_account(*, user_id: int) -> Account:
    return account_of(coin_key(user_id))


def diamond_account(*, user_id: int) -> Account:
    return account_of(diamond_key(user_id))


# ---------------------------------------------------------------- posting


def _fingerprint(kind: str, legs: Sequence[Leg], reference: str) -> str:
    # An account named by key counts as "kind:unit:owner" (ids first, then keys, each sorted).
    named = [
        (
            leg.account
            if isinstance(leg.account, int)
            else f"{leg.account.kind}:{leg.account.unit}:{leg.account.owner_id or ''}",
            leg.amount,
        )
        for leg in legs
    ]
    canonical = json.dumps(
        {
            "kind": kind,
            "reference": reference,
            "legs": sorted(named, key=lambda pair: (isinstance(pair[0], str), pair)),
        },
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


_SQLSTATE_ERRORS: dict[str, type[errors.CoinSiteError]] = {
    "CS402": errors.InsufficientCoins,
    "CS404": errors.AccountNotFound,
    "CS409": errors.IdempotencyConflict,
    "CS422": errors.UnbalancedTransaction,
    "CS423": errors.AccountFrozen,
    "CS429": errors.DailyCapReached,
}


def domain_error_from(exc: db_utils.Error) -> errors.CoinSiteError | None:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    error_type = _SQLSTATE_ERRORS.get(sqlstate or "")
    if error_type is None:
        return None
    diag = getattr(exc.__cause__, "diag", None)
    if error_type is errors.AccountNotFound:
        return error_type(extra={"account": getattr(diag, "message_primary", None)})
    detail = getattr(diag, "message_detail", None)
    return error_type(extra={"account_id": int(detail)} if detail and detail.isdigit() else None)


@dataclass(frozen=True)
class DailyCap:
    """Count `coins` against `user_id`'s daily cap of `limit` in the posting transaction."""

    user_id: int
    coins: int
    limit: int


def _check_legs(legs: Sequence[Leg], idempotency_key: str) -> None:
    if not isinstance(idempotency_key, str) or not idempotency_key or len(idempotency_key) > 200:
        raise errors.InvalidRequest(errors.POSTING_KEY_INVALID)
    if len(legs) < 2:
        raise errors.UnbalancedTransaction(errors.TOO_FEW_LEGS)
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount == 0:
            raise errors.UnbalancedTransaction(errors.LEG_NOT_WHOLE)
        if abs(leg.amount) >= 2**62:
            raise errors.InvalidRequest(errors.AMOUNT_TOO_LARGE)


def _accounts_array(legs: Sequence[Leg]) -> tuple[str, list[Any]]:
    """The SQL array of the legs' account ids: ids as they are, keys looked up in the statement
    (`wallet_account_id` raises CS404, AccountNotFound, for an account never provisioned)."""
    if all(isinstance(leg.account, int) for leg in legs):
        return "%s::bigint[]", [[leg.account for leg in legs]]
    parts: list[str] = []
    params: list[Any] = []
    for leg in legs:
        if isinstance(leg.account, int):
            parts.append("%s::bigint")
            params.append(leg.account)
        else:
            parts.append("wallet_account_id(%s, %s, %s::bigint)")
            params += [leg.account.kind, leg.account.unit, leg.account.owner_id]
    return f"ARRAY[{', '.join(parts)}]", params


def posting_statement(
    *,
    kind: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    reference: str = "",
    memo: str = "",
    created_by: User | None = None,
    allow_frozen: bool = False,
    daily_cap: DailyCap | None = None,
) -> tuple[str, list[Any]]:
    """The SQL (and parameters) that posts one transaction and yields (transaction_id, created).

    `post_transaction` runs it alone; a service that records its own row in the same round
    trip wraps it: `WITH posted AS (<sql>) INSERT INTO ... SELECT ... FROM posted WHERE created`
    (a CTE calling a volatile function runs exactly once).
    """
    _check_legs(legs, idempotency_key)
    accounts_sql, accounts_params = _accounts_array(legs)
    sql = (
        "SELECT transaction_id, created FROM wallet_post_transaction("
        f"%s, %s, %s, %s, %s, %s::bigint, {accounts_sql}, %s::bigint[], %s, %s::bigint, %s::bigint, %s::bigint)"
    )
    params: list[Any] = [
        kind,
        idempotency_key,
        _fingerprint(kind, legs, reference),
        reference[:200],
        memo[:255],
        created_by.pk if created_by is not None else None,
        *accounts_params,
        [leg.amount for leg in legs],
        allow_frozen,
        daily_cap.user_id if daily_cap else None,
        daily_cap.coins if daily_cap else None,
        daily_cap.limit if daily_cap else None,
    ]
    return sql, params


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the posting function's SQLSTATEs into our domain errors."""
    try:
        yield
    except db_utils.Error as exc:
        domain = domain_error_from(exc)
        if domain is None:
            raise
        raise domain from exc


def post_transaction(
    *,
    kind: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    reference: str = "",
    memo: str = "",
    created_by: User | None = None,
    allow_frozen: bool = False,
    daily_cap: DailyCap | None = None,
) -> PostedTransaction:
    """Post one balanced transaction; a replay of `idempotency_key` returns the first one.

    One round trip: the PL/pgSQL function does the whole posting as one statement, so it is
    atomic on its own. Raises InsufficientCoins, AccountFrozen, IdempotencyConflict,
    UnbalancedTransaction or DailyCapReached; nothing moves when it raises. Inside an outer
    `atomic` block a savepoint keeps that block usable after an error.
    """
    sql, params = posting_statement(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        reference=reference,
        memo=memo,
        created_by=created_by,
        allow_frozen=allow_frozen,
        daily_cap=daily_cap,
    )
    rows = execute_posting(sql, params)
    txn_id, created = rows[0]
    return PostedTransaction(id=txn_id, created=created)


def execute_posting(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a posting statement: alone it is its own transaction (one round trip); inside an
    outer `atomic` block it runs under a savepoint so an error leaves that block usable."""
    with domain_errors():
        if not connection.in_atomic_block:
            with prepared_cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        with transaction.atomic(), prepared_cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())


@dataclass(frozen=True)
class Posting:
    """One transaction of a batch posted by `post_transactions`."""

    kind: str
    legs: Sequence[Leg]
    idempotency_key: str
    reference: str = ""
    memo: str = ""


def post_transactions(postings: Sequence[Posting]) -> list[PostedTransaction]:
    """Post many balanced transactions in one round trip (one statement calling the posting
    function once per posting, in order); results in the same order.

    Each posting keeps `post_transaction`'s contract: balanced, idempotent by its own key (a
    replayed key returns the first transaction and moves nothing), never below zero. The batch
    is all or nothing: when one posting raises (InsufficientCoins, AccountFrozen,
    IdempotencyConflict, ...), none of them is posted; a caller that must know which one failed
    posts them one by one with `post_transaction` then."""
    if not postings:
        return []
    rows: list[str] = []
    params: list[Any] = []
    for order, posting in enumerate(postings):
        _check_legs(posting.legs, posting.idempotency_key)
        accounts_sql, accounts_params = _accounts_array(posting.legs)
        rows.append(
            f"(%s::int, %s::text, %s::text, %s::text, %s::text, %s::text, {accounts_sql}, %s::bigint[])"
        )
        params += [
            order,
            posting.kind,
            posting.idempotency_key,
            _fingerprint(posting.kind, posting.legs, posting.reference),
            posting.reference[:200],
            posting.memo[:255],
            *accounts_params,
            [leg.amount for leg in posting.legs],
        ]
    sql = (
        "SELECT t.transaction_id, t.created FROM (VALUES "
        + ", ".join(rows)
        + ") AS p(ord, kind, key, fingerprint, reference, memo, accounts, amounts)"
        " CROSS JOIN LATERAL wallet_post_transaction(p.kind, p.key, p.fingerprint, p.reference, p.memo,"
        " NULL::bigint, p.accounts, p.amounts, false, NULL::bigint, NULL::bigint, NULL::bigint) AS t"
        " ORDER BY p.ord"
    )
    # One statement is atomic alone; inside an outer block a savepoint keeps that block usable.
    with domain_errors(), transaction.atomic() if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
    return [PostedTransaction(id=txn_id, created=created) for txn_id, created in found]


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


def spending_legs(
    *, spender_id: int, coins: int, creator_user_id: int, diamonds: int, hold_earnings: bool = False
) -> list[Leg]:
    """Legs of a spend: the viewer pays `coins`; the creator earns `diamonds` (or escrow holds
    them); the rest of the coins is platform revenue. Validated: whole, positive, diamonds <= coins."""
    if not isinstance(coins, int) or isinstance(coins, bool) or coins <= 0:
        raise errors.InvalidRequest(errors.COINS_NOT_POSITIVE)
    if not isinstance(diamonds, int) or not 0 <= diamonds <= coins:
        raise errors.InvalidRequest(errors.DIAMONDS_OVER_COINS)
    legs = [Leg(coin_key(spender_id), -coins)]
    if diamonds:
        legs.append(Leg(system_key(Account.Kind.COIN_SPENT, Unit.COIN), diamonds))
    if coins - diamonds:
        legs.append(Leg(system_key(Account.Kind.PLATFORM_REVENUE, Unit.COIN), coins - diamonds))
    if diamonds:
        earner = (
            system_key(Account.Kind.ESCROW, Unit.DIAMOND) if hold_earnings else diamond_key(creator_user_id)
        )
        legs += [
            Leg(system_key(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND), -diamonds),
            Leg(earner, diamonds),
        ]
    return legs


def daily_cap_for(spender: User, coins: int) -> DailyCap:
    """Refuse minors and single spends over the cap up front; the rest is counted in SQL."""
    check_can_spend(spender)
    cap = settings.DAILY_SPEND_CAP_COINS
    if coins > cap:
        raise errors.DailyCapReached()
    return DailyCap(user_id=spender.pk, coins=coins, limit=cap)


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
) -> Spend:
    """A viewer spends `coins`; the creator earns `diamonds` (the rest is platform revenue).

    Age (and a single spend over the cap) is refused in Python before anything is posted; the
    day's total against the daily cap is counted in the same database statement as the debit.
    A replay of `idempotency_key` moves nothing and counts nothing against the cap. With
    `hold_earnings` the diamonds go to escrow until `release_held_earnings`.
    """
    legs = spending_legs(
        spender_id=spender.pk,
        coins=coins,
        creator_user_id=creator_user_id,
        diamonds=diamonds,
        hold_earnings=hold_earnings,
    )
    posted = post_transaction(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        reference=reference,
        memo=memo,
        daily_cap=daily_cap_for(spender, coins),
    )
    return Spend(transaction=posted, coins=coins, diamonds=diamonds)


def daily_spend_today(user_id: int) -> int:
    row = DailySpend.objects.filter(user_id=user_id, day=timezone.now().date()).values_list(
        "coins", flat=True
    )
    return int(row.first() or 0)


def release_held_earnings(
    *, creator_user_id: int, diamonds: int, idempotency_key: str, reference: str
) -> PostedTransaction:
    return post_transaction(
        kind=Transaction.Kind.MERCH_RELEASE,
        legs=[
            Leg(system_account_id(Account.Kind.ESCROW, Unit.DIAMOND), -diamonds),
            Leg(diamond_account_id(user_id=creator_user_id), diamonds),
        ],
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
    posting = issuing_posting(
        user_id=user.pk,
        coins=coins,
        idempotency_key=idempotency_key,
        kind=kind,
        reference=reference,
        memo=memo,
    )
    return post_transaction(
        kind=posting.kind,
        legs=posting.legs,
        idempotency_key=posting.idempotency_key,
        reference=posting.reference,
        memo=posting.memo,
    )


def issuing_posting(
    *,
    user_id: int,
    coins: int,
    idempotency_key: str,
    kind: str = Transaction.Kind.PURCHASE,
    reference: str = "",
    memo: str = "",
    by_key: bool = False,
) -> Posting:
    """The transaction `issue_coins` posts, for `post_transaction` or `post_transactions`. With
    `by_key` its legs name the accounts by key, looked up by the posting statement itself (no
    lookup round trips; the fingerprint differs from the by-id form, so a key must always be
    posted in the same form)."""
    if not isinstance(coins, int) or coins <= 0:
        raise errors.InvalidRequest(errors.COINS_NOT_POSITIVE)
    issuance: int | AccountKey
    wallet: int | AccountKey
    if by_key:
        issuance, wallet = system_key(Account.Kind.COIN_ISSUANCE, Unit.COIN), coin_key(user_id)
    else:
        issuance = system_account_id(Account.Kind.COIN_ISSUANCE, Unit.COIN)
        wallet = coin_account_id(user_id=user_id)
    return Posting(
        kind=kind,
        legs=[Leg(issuance, -coins), Leg(wallet, coins)],
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
        SELECT a.id, wallet_balance(a.id), COALESCE(e.total, 0)
          FROM wallet_account a
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM wallet_entry GROUP BY 1) e ON e.account_id = a.id
         WHERE wallet_balance(a.id) <> COALESCE(e.total, 0) ORDER BY 1 LIMIT 100
    """,
    "negative_balance": """
        SELECT id, balance, 0 FROM (
            SELECT a.id, wallet_balance(a.id) AS balance FROM wallet_account a WHERE NOT a.allow_negative
        ) t WHERE balance < 0 ORDER BY 1 LIMIT 100
    """,
    "unit_mismatch": """
        SELECT e.id, e.unit, a.unit FROM wallet_entry e JOIN wallet_account a ON a.id = e.account_id
         WHERE e.unit <> a.unit ORDER BY 1 LIMIT 100
    """,
    "units_do_not_net_to_zero": """
        SELECT unit, sum(wallet_balance(id)), 0 FROM wallet_account GROUP BY unit HAVING sum(wallet_balance(id)) <> 0
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
