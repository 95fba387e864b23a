"""Bulk ledger data for the dashboard benchmark: one approved creator with `n` diamond entries.

Everything is written with a few set-based SQL statements in one database transaction:
viewers (supporters) are funded by purchase transactions, then `n` gift and unlock
transactions (one creator entry each) are inserted with their balancing legs, and the
touched balances are updated by the same totals, so `run_ledger_check()` stays clean.
Entries are backdated over `days` days (id order = time order). The earnings rollups are
brought up to date just before the load, so the backdated rows fall before their horizon and
the periodic roll-up never walks them window by window; the creator's rollups are then rebuilt
from its whole ledger in one statement (after a roll-up of the minutes the load took).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from creators.models import Creator
from creators.services.earnings import rebuild_creator_earnings, roll_up_creator_earnings
from wallet.models import Account, Unit, User
from wallet.services import (
    coin_account_id,
    diamond_account_id,
    open_coin_accounts,
    open_diamond_accounts,
    system_account_id,
)

BENCH_PASSWORD = "pw-Secret-123"
LEFTOVER_COINS = 1000

_LOAD_SQL = """
-- Sorts of a million rows stay in memory (the ORDER BYs keep id order = time order).
SET LOCAL work_mem = '256MB';

-- The transaction ids, reserved as one range: n spends, then one purchase per supporter.
CREATE TEMP TABLE bench_ids ON COMMIT DROP AS
SELECT setval(pg_get_serial_sequence('wallet_transaction', 'id'),
              nextval(pg_get_serial_sequence('wallet_transaction', 'id')) + %(n)s + %(supporters)s) AS last;

CREATE TEMP TABLE bench_spend ON COMMIT DROP AS
SELECT g AS i,
       (SELECT last FROM bench_ids) - %(n)s - %(supporters)s + g AS transaction_id,
       CASE WHEN g %% 10 = 0 THEN 'unlock' ELSE 'gift' END AS kind,
       (1 + (g::bigint * 7919) %% 100) AS diamonds,
       CASE WHEN g %% 10 = 0 THEN 2 ELSE 1 END * (1 + (g::bigint * 7919) %% 100) AS coins,
       (%(viewer_accounts)s::bigint[])[1 + g %% %(supporters)s] AS viewer_account,
       %(start)s::timestamptz + (g - 1) * %(step)s::interval AS created_at
  FROM generate_series(1, %(n)s) AS g;

-- Fund every supporter first: one purchase each, for what they spend plus a leftover.
CREATE TEMP TABLE bench_fund ON COMMIT DROP AS
SELECT viewer_account, coins,
       (SELECT last FROM bench_ids) - %(supporters)s + row_number() OVER (ORDER BY viewer_account) AS transaction_id
  FROM (SELECT viewer_account, sum(coins) + %(leftover)s AS coins FROM bench_spend GROUP BY viewer_account) f;

INSERT INTO wallet_transaction (id, kind, idempotency_key, fingerprint, reference, memo, created_at)
SELECT transaction_id, 'purchase', 'bench-' || %(tag)s || '-fund-' || viewer_account, 'bench', '', 'Benchmark coins',
       %(start)s::timestamptz - interval '1 day'
  FROM bench_fund ORDER BY transaction_id;

INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at)
SELECT f.transaction_id, l.account_id, 'COIN', l.amount, %(start)s::timestamptz - interval '1 day'
  FROM bench_fund f
 CROSS JOIN LATERAL (VALUES (%(coin_issuance)s::bigint, -f.coins), (f.viewer_account, f.coins)) AS l(account_id, amount)
 ORDER BY f.transaction_id;

INSERT INTO wallet_transaction (id, kind, idempotency_key, fingerprint, reference, memo, created_at)
SELECT transaction_id, kind, 'bench-' || %(tag)s || '-' || i, 'bench', 'bench:' || i, '', created_at
  FROM bench_spend ORDER BY i;

INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at)
SELECT s.transaction_id, l.account_id, l.unit, l.amount, s.created_at
  FROM bench_spend s
 CROSS JOIN LATERAL (VALUES
        (1, s.viewer_account, 'COIN', -s.coins),
        (2, %(coin_spent)s::bigint, 'COIN', s.diamonds),
        (3, %(platform_revenue)s::bigint, 'COIN', s.coins - s.diamonds),
        (4, %(diamond_issuance)s::bigint, 'DIAMOND', -s.diamonds),
        (5, %(creator_account)s::bigint, 'DIAMOND', s.diamonds)
     ) AS l(leg, account_id, unit, amount)
 WHERE l.amount <> 0
 ORDER BY s.i, l.leg;

UPDATE wallet_account a SET balance = a.balance + t.amount
  FROM (
        SELECT %(creator_account)s::bigint AS id, sum(diamonds) AS amount FROM bench_spend
        UNION ALL SELECT %(diamond_issuance)s, -sum(diamonds) FROM bench_spend
        UNION ALL SELECT %(coin_spent)s, sum(diamonds) FROM bench_spend
        UNION ALL SELECT %(platform_revenue)s, sum(coins - diamonds) FROM bench_spend
        UNION ALL SELECT %(coin_issuance)s, -sum(coins) FROM bench_fund
        UNION ALL SELECT viewer_account, %(leftover)s FROM bench_fund
       ) t
 WHERE a.id = t.id;
"""


@dataclass(frozen=True)
class BenchCreator:
    creator: Creator
    user: User
    account_id: int
    entries: int
    supporters: list[User]


def make_creator_with_entries(n: int, *, supporters: int = 50, days: int = 90) -> BenchCreator:
    """An approved creator (password `BENCH_PASSWORD`) whose diamond account has `n` entries:
    90% gifts and 10% unlocks (1-100 diamonds each) from `supporters` funded adult viewers,
    spread evenly over the last `days` days. A million entries take a few minutes."""
    if n < 1 or supporters < 1 or days < 1:
        raise ValueError("n, supporters and days must be positive")
    tag = uuid.uuid4().hex[:10]
    adult = datetime.date(1990, 1, 1)
    roll_up_creator_earnings()
    with transaction.atomic():
        user = User.objects.create_user(
            f"bench-creator-{tag}@example.com",
            BENCH_PASSWORD,
            display_name=f"Bench creator {tag}",
            date_of_birth=adult,
            role=User.Role.CREATOR,
        )
        creator = Creator.objects.create(
            user=user,
            handle=f"bench-{tag}",
            display_name=f"Bench {tag}",
            status=Creator.Status.APPROVED,
            decided_at=timezone.now(),
        )
        viewers = User.objects.bulk_create(
            [
                User(
                    email=f"bench-viewer-{tag}-{i}@example.com", display_name=f"Fan {i}", date_of_birth=adult
                )
                for i in range(supporters)
            ]
        )
        # Made in bulk and approved without the approval service: open their accounts here.
        open_coin_accounts(user_ids=[v.pk for v in viewers])
        open_diamond_accounts(user_ids=[user.pk])
        viewer_accounts = [coin_account_id(user_id=v.pk) for v in viewers]
        creator_account = diamond_account_id(user_id=user.pk)
        now = timezone.now()
        start = now - datetime.timedelta(days=days)
        step = (now - datetime.timedelta(minutes=1) - start) / n
        params: dict[str, Any] = {
            "n": n,
            "tag": tag,
            "supporters": supporters,
            "viewer_accounts": viewer_accounts,
            "start": start,
            "step": step,
            "leftover": LEFTOVER_COINS,
            "creator_account": creator_account,
            "coin_issuance": system_account_id(Account.Kind.COIN_ISSUANCE, Unit.COIN),
            "coin_spent": system_account_id(Account.Kind.COIN_SPENT, Unit.COIN),
            "platform_revenue": system_account_id(Account.Kind.PLATFORM_REVENUE, Unit.COIN),
            "diamond_issuance": system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND),
        }
        with connection.cursor() as cursor:
            cursor.execute(_LOAD_SQL, params)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE wallet_entry; ANALYZE wallet_transaction")
    roll_up_creator_earnings()
    rebuild_creator_earnings(account_id=creator_account)
    return BenchCreator(creator=creator, user=user, account_id=creator_account, entries=n, supporters=viewers)
