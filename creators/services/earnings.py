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
from wallet.selectors import first_transaction_at

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARNING_KINDS = ("gift", "unlock", "merch_release")
HORIZON_LAG_WARNING = timedelta(minutes=10)
# Covers the instant between a transaction taking its start time and publishing it in pg_stat_activity.
CLOCK_MARGIN = timedelta(seconds=2)
MAX_WINDOW = timedelta(days=1)

# Who earned the creator the diamonds: the viewer whose coin wallet paid in the same
# transaction (gifts, unlocks: `payer_id` of `wallet_creator_entries`), or the buyer of the order
# whose escrow was released (merch). Expects a CTE `src` of `wallet_creator_entries` rows and
# defines `credited(account_id, supporter_id, amount)` over its credits of earning kinds.
SUPPORTER_CTES = """
credited AS (
    SELECT src.account_id, COALESCE(src.payer_id, o.buyer_id) AS supporter_id, src.amount
      FROM src
      LEFT JOIN creators_order o ON o.release_transaction_id = src.transaction_id
     WHERE src.amount > 0 AND src.kind IN ('gift', 'unlock', 'merch_release')
)
"""

# `{entries}` is one of the two fixed calls below, never user input.
_ROLLUP_SQL = (
    """
WITH src AS MATERIALIZED (
    SELECT account_id, (created_at AT TIME ZONE 'UTC')::date AS day, kind, amount, transaction_id, payer_id
      FROM {entries}
),
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
# Every creator's entries of transactions created in [from, until); one account's before `until`.
_WINDOW = "wallet_creator_entries(NULL, %s::timestamptz, %s::timestamptz)"
_ONE_ACCOUNT = "wallet_creator_entries(%s::bigint, NULL, %s::timestamptz)"


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
                first = first_transaction_at()
                start = first if first is not None else safe
            horizon = min(safe, max(start + max_window, state.horizon))
            with connection.cursor() as cursor:
                cursor.execute(_ROLLUP_SQL.format(entries=_WINDOW), [state.horizon, horizon])
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
            cursor.execute(_ROLLUP_SQL.format(entries=_ONE_ACCOUNT), [account_id, state.horizon])
            entries = int(cursor.fetchone()[0])
    return RollupRun(horizon=state.horizon, entries=entries)
