"""The earnings rollups: per creator diamond account, per UTC day and transaction kind
(`CreatorEarningsDay`), and per supporter (`CreatorSupporter`), so the dashboard of a creator
with a million ledger entries reads a few hundred rows plus a short live tail.

Why a time horizon and not "entry id > last processed id": ids come from a sequence when a
row is inserted, but transactions commit in any order, so an entry with a lower id can
become visible after a higher one was counted; an id watermark would skip it forever.
Instead every ledger row carries its transaction's start time (`created_at = now()` in
`wallet_post_transaction`), and a transaction that is still open shows up in
`pg_stat_activity.xact_start`. So at the moment the horizon is taken as

    H = least(clock - 2 s, earliest start of any open client transaction in this database)

every transaction created before H has finished (committed or rolled back), and a run
counts exactly the transactions created in [previous horizon, H). Windows never overlap
and leave no gaps, so each entry is counted once. The dashboard adds the live tail (ledger
rows created at or after the horizon) read in the same snapshot as the rollups.

What this relies on: every ledger row is written with `created_at` = its transaction's
start (true for `wallet_post_transaction`; bulk loads that backdate rows, such as
`bench.creators_data`, call `rebuild_creator_earnings` afterwards), and the application's
database role can see its own sessions in `pg_stat_activity` (one role for the app). A
session left idle in a transaction holds the horizon back: the rollups then lag and the
live tail grows, but every figure stays exact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from creators.models import EarningsRollupState
from wallet.models import Transaction

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARNING_KINDS = ("gift", "unlock", "merch_release")
HORIZON_LAG_WARNING = timedelta(minutes=10)
# Covers the instant between a transaction taking its start time and publishing it in pg_stat_activity.
CLOCK_MARGIN = timedelta(seconds=2)
MAX_WINDOW = timedelta(days=1)

# Who earned the creator the diamonds: the viewer whose coin wallet paid in the same
# transaction (gifts, unlocks), or the buyer of the order whose escrow was released (merch).
# Set-based (joins, not a subquery per row): expects a CTE `earned(account_id, transaction_id,
# amount)` of credits of earning kinds and defines `credited(account_id, supporter_id, amount)`.
SUPPORTER_CTES = """
payer AS (
    -- The account lookup is a scalar subquery by primary key (never the outer side of a join:
    -- with stale statistics the planner otherwise loops over every viewer account per row);
    -- OFFSET 0 keeps it from being evaluated twice.
    SELECT DISTINCT ON (transaction_id) transaction_id, owner_id
      FROM (SELECT e2.transaction_id, e2.id,
                   (SELECT CASE WHEN ca.kind = 'user_coins' THEN ca.owner_id END
                      FROM wallet_account ca WHERE ca.id = e2.account_id) AS owner_id
              FROM earned JOIN wallet_entry e2 ON e2.transaction_id = earned.transaction_id
             WHERE e2.amount < 0
            OFFSET 0) debits
     WHERE owner_id IS NOT NULL
     ORDER BY transaction_id, id
),
credited AS (
    SELECT earned.account_id, COALESCE(payer.owner_id, o.buyer_id) AS supporter_id, earned.amount
      FROM earned
      LEFT JOIN payer ON payer.transaction_id = earned.transaction_id
      LEFT JOIN creators_order o ON o.release_transaction_id = earned.transaction_id
)
"""
EARNED_FILTER = "amount > 0 AND kind IN ('gift', 'unlock', 'merch_release')"

# `{where}` is one of the two fixed filters below, never user input.
_ROLLUP_SQL = (
    """
WITH src AS MATERIALIZED (
    SELECT e.account_id, (t.created_at AT TIME ZONE 'UTC')::date AS day, t.kind, e.amount, t.id AS transaction_id
      FROM wallet_transaction t
      JOIN wallet_entry e ON e.transaction_id = t.id
      JOIN wallet_account a ON a.id = e.account_id
     WHERE a.kind = 'creator_diamonds' AND {where}
),
earned AS MATERIALIZED (SELECT account_id, transaction_id, amount FROM src WHERE """
    + EARNED_FILTER
    + """),
"""
    + SUPPORTER_CTES
    + """,
days AS (
    INSERT INTO creators_creatorearningsday (account_id, day, kind, diamonds, count)
    SELECT account_id, day, kind, sum(amount), count(*) FROM src GROUP BY 1, 2, 3
    ON CONFLICT (account_id, day, kind) DO UPDATE
       SET diamonds = creators_creatorearningsday.diamonds + EXCLUDED.diamonds,
           count = creators_creatorearningsday.count + EXCLUDED.count
    RETURNING 1
),
supporters AS (
    INSERT INTO creators_creatorsupporter (account_id, supporter_id, diamonds, count)
    SELECT account_id, supporter_id, sum(amount), count(*) FROM credited WHERE supporter_id IS NOT NULL GROUP BY 1, 2
    ON CONFLICT (account_id, supporter_id) DO UPDATE
       SET diamonds = creators_creatorsupporter.diamonds + EXCLUDED.diamonds,
           count = creators_creatorsupporter.count + EXCLUDED.count
    RETURNING 1
)
SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM days), (SELECT count(*) FROM supporters)
"""
)
_WINDOW = "t.created_at >= %s AND t.created_at < %s"
_ONE_ACCOUNT = "e.account_id = %s AND t.created_at < %s"


@dataclass(frozen=True)
class RollupRun:
    horizon: datetime
    entries: int


def _locked_state() -> EarningsRollupState:
    # The state row serializes rollup runs; it is created on first use (tests flush tables).
    with connection.cursor() as cursor:
        # Compiling these plans costs more than running them (half a second per run when it kicks in).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            "INSERT INTO creators_earningsrollupstate (id, horizon, last_run_entries) VALUES (1, %s, 0) "
            "ON CONFLICT (id) DO NOTHING",
            [EPOCH],
        )
    return EarningsRollupState.objects.select_for_update().get(pk=1)


def _safe_horizon() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            """
            SELECT LEAST(
                clock_timestamp() - make_interval(secs => %s),
                (SELECT min(xact_start) FROM pg_stat_activity
                  WHERE datname = current_database() AND backend_type = 'client backend'
                    AND pid <> pg_backend_pid() AND xact_start IS NOT NULL)
            )
            """,
            [CLOCK_MARGIN.total_seconds()],
        )
        return cursor.fetchone()[0]


def roll_up_creator_earnings(*, max_window: timedelta = MAX_WINDOW) -> RollupRun:
    """Fold every creator ledger entry of transactions created in [horizon, safe now) into the
    rollups, at most `max_window` of ledger time per database transaction (a first run over a
    long history, or a catch-up after an outage, stays in short transactions)."""
    entries = 0
    while True:
        with transaction.atomic():
            state = _locked_state()
            safe = max(_safe_horizon(), state.horizon)
            start = state.horizon
            if start == EPOCH:
                # Nothing before the first ledger transaction: start there, not in 1970.
                first = (
                    Transaction.objects.order_by("created_at").values_list("created_at", flat=True).first()
                )
                start = first if first is not None else safe
            horizon = min(safe, max(start + max_window, state.horizon))
            with connection.cursor() as cursor:
                cursor.execute(_ROLLUP_SQL.format(where=_WINDOW), [state.horizon, horizon])
                window_entries = int(cursor.fetchone()[0])
            entries += window_entries
            state.horizon = horizon
            state.last_run_at = timezone.now()
            state.last_run_entries = window_entries
            state.save()
        if horizon >= safe:
            break
    lag = timezone.now() - horizon
    if lag > HORIZON_LAG_WARNING:
        logger.warning("earnings rollup horizon lags by %s: an open transaction holds it back", lag)
    return RollupRun(horizon=horizon, entries=entries)


def rebuild_creator_earnings(*, account_id: int) -> RollupRun:
    """Recompute one creator account's rollups from its whole ledger up to the current horizon
    (after a bulk load that backdated entries, or to repair)."""
    with transaction.atomic():
        state = _locked_state()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM creators_creatorearningsday WHERE account_id = %s", [account_id])
            cursor.execute("DELETE FROM creators_creatorsupporter WHERE account_id = %s", [account_id])
            cursor.execute(_ROLLUP_SQL.format(where=_ONE_ACCOUNT), [account_id, state.horizon])
            entries = int(cursor.fetchone()[0])
    return RollupRun(horizon=state.horizon, entries=entries)
