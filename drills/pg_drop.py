"""PostgreSQL connections dropped mid-transaction while viewers gift one creator.

A killer terminates every other backend of the drill database every few milliseconds; the
gifting clients reconnect and resend with the same idempotency key, as a real client does."""

from __future__ import annotations

import functools
import threading
import time

from django.db import connection

from drills.harness import Report, check_ledger, retrying
from drills.world import people
from tests.concurrency import run_concurrently


def run(small: bool) -> Report:
    from wallet import selectors, services
    from wallet.models import Transaction

    report = Report("PostgreSQL connections dropped mid-transaction")
    threads, gifts_each = (8, 40) if small else (16, 250)
    world = people(viewers=threads, creators=1, coins_each=10_000)
    creator = world.creators[0]
    stop = threading.Event()
    killed = [0]

    def killer() -> None:
        from drills.harness import raw_connection

        with raw_connection() as conn:
            while not stop.is_set():
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                killed[0] += sum(1 for r in rows if r[0])
                time.sleep(0.03)

    def gift(w: int, i: int, coins: int) -> None:
        services.spend_coins(
            spender=world.viewers[w],
            coins=coins,
            creator_user_id=creator.pk,
            diamonds=coins,
            kind="gift",
            idempotency_key=f"drill-pg-{w}-{i}",
        )

    spent = [0] * threads  # coins of the gifts each client saw go through

    def gifting(w: int) -> int:
        for i in range(gifts_each):
            coins = 1 + (i % 5)
            # A client keeps resending until it gets an answer. Every backend is killed every
            # few tens of milliseconds, and on a slow moment a fresh connection's first posting
            # (function compiled, statements planned) can lose several races in a row: 200
            # attempts were once not enough on this 2-core machine.
            retrying(functools.partial(gift, w, i, coins), attempts=3000)
            spent[w] += coins
        return spent[w]

    k = threading.Thread(target=killer)
    k.start()
    try:
        results = run_concurrently(threads, gifting, timeout=None)
    finally:
        stop.set()
        k.join()
    connection.close()

    failures = [r for r in results if isinstance(r, Exception)]
    report.problems += [f"client gave up: {f!r}" for f in failures[:5]]
    # What the clients saw go through, including a client that gave up part way.
    intended = sum(spent)
    posted = Transaction.objects.filter(idempotency_key__startswith="drill-pg-").count()
    diamonds = selectors.diamond_balance(user_id=creator.pk)
    held = sum(selectors.coin_balance(user_id=v.pk) for v in world.viewers)
    report.did.append(
        f"{threads} clients x {gifts_each} gifts to one creator; {killed[0]} backends terminated mid-flight"
    )
    report.found.append(
        f"{posted} gift transactions for {threads * gifts_each} intended; creator has {diamonds} diamonds for "
        f"{intended} coins gifted; viewers hold {held} of {threads * world.funded}"
    )
    report.lost = max(0, threads * gifts_each - posted) + max(0, intended - diamonds)
    report.doubled = max(0, posted - threads * gifts_each) + max(0, diamonds - intended)
    if held != threads * world.funded - intended:
        report.problems.append("viewer coins do not equal funded minus gifted")
    if killed[0] == 0:
        report.problems.append("the drill terminated no connection: it proved nothing")
    check_ledger(report)
    return report
