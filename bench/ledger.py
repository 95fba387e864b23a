"""Gift-like ledger transactions (viewer pays a creator): one hot creator versus the same
work spread over 1,000 creators, through `wallet.services` and as raw SQL with psycopg."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from bench.harness import Row, Run, raw_connection, run_raw_workers, run_workers

RAW_SCHEMA = """
DROP TABLE IF EXISTS bench_raw_entry, bench_raw_txn, bench_raw_account;
CREATE TABLE bench_raw_account (id bigserial PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE bench_raw_txn (id bigserial PRIMARY KEY, idempotency_key text UNIQUE NOT NULL,
                            created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_raw_entry (id bigserial PRIMARY KEY, txn_id bigint NOT NULL REFERENCES bench_raw_txn,
                              account_id bigint NOT NULL REFERENCES bench_raw_account, amount bigint NOT NULL);
CREATE INDEX ON bench_raw_entry (txn_id);
CREATE INDEX ON bench_raw_entry (account_id, id);
"""


class LedgerWorld:
    """Viewers with plenty of coins and 1,000 creators, in Django and in the raw tables."""

    def __init__(self, viewers: int, creators: int = 1000) -> None:
        from wallet import services
        from wallet.models import User

        dob = datetime.date(1990, 1, 1)
        self.tag = tag = uuid.uuid4().hex[:8]
        User.objects.bulk_create(
            [
                User(email=f"bench-viewer-{tag}-{i}@bench.local", date_of_birth=dob, password="!")
                for i in range(viewers)
            ]
        )
        User.objects.bulk_create(
            [
                User(email=f"bench-creator-{tag}-{i}@bench.local", date_of_birth=dob, password="!")
                for i in range(creators)
            ]
        )
        self.viewers = list(User.objects.filter(email__startswith=f"bench-viewer-{tag}-").order_by("id"))
        self.creator_ids = list(
            User.objects.filter(email__startswith=f"bench-creator-{tag}-")
            .order_by("id")
            .values_list("id", flat=True)
        )
        # Made in bulk (no User.save, no approval): open their accounts here.
        services.open_coin_accounts(user_ids=[v.pk for v in self.viewers])
        services.open_diamond_accounts(user_ids=self.creator_ids)
        for v in self.viewers:
            services.issue_coins(user=v, coins=10**12, idempotency_key=f"bench-fund-{v.pk}")

        with raw_connection() as conn:
            conn.execute(RAW_SCHEMA)
            conn.execute(
                "INSERT INTO bench_raw_account (balance) SELECT %s FROM generate_series(1, %s)",
                [10**12, viewers],
            )
            conn.execute(
                "INSERT INTO bench_raw_account (balance) SELECT 0 FROM generate_series(1, %s)", [creators]
            )
            rows = conn.execute("SELECT id FROM bench_raw_account ORDER BY id").fetchall()
        ids = [r[0] for r in rows]
        self.raw_viewers = ids[:viewers]
        self.raw_creators = ids[viewers:]


def service_gifts(world: LedgerWorld, workers: int, per_worker: int, hot: bool) -> Run:
    from wallet import services

    tag = uuid.uuid4().hex[:8]
    creators = world.creator_ids

    def work(w: int, i: int) -> None:
        creator = creators[0] if hot else creators[(w * per_worker + i) % len(creators)]
        services.spend_coins(
            spender=world.viewers[w],
            coins=1,
            creator_user_id=creator,
            diamonds=1,
            kind="gift",
            idempotency_key=f"bench-{tag}-{w}-{i}",
        )

    return run_workers(workers, per_worker, work)


def raw_move_one_coin(conn: Any, viewer: int, creator: int) -> None:
    """The two balance updates of a raw gift: the viewer's (conditional) and the creator's."""
    cur = conn.execute(
        "UPDATE bench_raw_account SET balance = balance - 1 WHERE id = %s AND balance >= 1", [viewer]
    )
    if cur.rowcount != 1:
        raise RuntimeError("insufficient funds")
    conn.execute("UPDATE bench_raw_account SET balance = balance + 1 WHERE id = %s", [creator])


def raw_gifts(world: LedgerWorld, workers: int, per_worker: int, hot: bool) -> Run:
    tag = uuid.uuid4().hex[:8]
    creators = world.raw_creators

    def work(conn: Any, w: int, i: int) -> None:
        viewer = world.raw_viewers[w]
        creator = creators[0] if hot else creators[(w * per_worker + i) % len(creators)]
        with conn.transaction():
            raw_move_one_coin(conn, viewer, creator)
            txn_id = conn.execute(
                "INSERT INTO bench_raw_txn (idempotency_key) VALUES (%s) RETURNING id", [f"raw-{tag}-{w}-{i}"]
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO bench_raw_entry (txn_id, account_id, amount) VALUES (%s, %s, -1), (%s, %s, 1)",
                [txn_id, viewer, txn_id, creator],
            )

    return run_raw_workers(workers, per_worker, work)


def run(quick: bool) -> list[Row]:
    from wallet import services

    per_worker_16 = 100 if quick else 500
    per_worker_1 = 300 if quick else 2000
    world = LedgerWorld(viewers=16)
    results: dict[tuple[str, int, bool], Run] = {}
    # Warm up connections and caches once, then measure.
    service_gifts(world, 4, 20, hot=False)
    raw_gifts(world, 4, 20, hot=False)
    for workers, per_worker in ((1, per_worker_1), (16, per_worker_16)):
        for hot in (True, False):
            results[("service", workers, hot)] = service_gifts(world, workers, per_worker, hot)
            results[("raw", workers, hot)] = raw_gifts(world, workers, per_worker, hot)
    check = services.run_ledger_check()

    def tps(kind: str, workers: int, hot: bool) -> float:
        return results[(kind, workers, hot)].per_second

    rows: list[Row] = []
    for workers in (1, 16):
        rows.append(
            Row(
                f"spend_coins gifts, 1 hot creator, {workers} workers",
                tps("service", workers, True),
                "tx/s",
                "spend_coins, spread over 1,000",
                tps("service", workers, False),
                note=f"p50 {results[('service', workers, True)].p50_ms:.1f} ms",
            )
        )
        rows.append(
            Row(
                f"spend_coins gifts, spread over 1,000, {workers} workers",
                tps("service", workers, False),
                "tx/s",
                "raw SQL (4 statements), spread",
                tps("raw", workers, False),
            )
        )
        rows.append(
            Row(
                f"spend_coins gifts, 1 hot creator, {workers} workers",
                tps("service", workers, True),
                "tx/s",
                "raw SQL (4 statements), 1 hot creator",
                tps("raw", workers, True),
            )
        )
        rows.append(
            Row(
                f"raw SQL gifts, 1 hot creator row, {workers} workers",
                tps("raw", workers, True),
                "tx/s",
                "raw SQL, spread over 1,000",
                tps("raw", workers, False),
                note="the single-row lock the deferred credits avoid",
            )
        )
    errors = sum(r.errors for r in results.values())
    rows.append(
        Row(
            "ledger check after the ledger benchmark",
            0 if check.ok else len(check.problems),
            "problems",
            note=f"errors during runs: {errors}",
        )
    )
    return rows
