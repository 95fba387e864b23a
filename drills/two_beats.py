"""Two Celery beat processes started at once, with a worker, while gifts arrive: every
periodic task then runs twice as often, and must still change nothing twice."""

from __future__ import annotations

import time
import uuid

from django.db import connection

from drills.harness import BASE_DIR, Report, celery, check_ledger, process_env, processes, start
from drills.world import people
from tests.concurrency import run_concurrently


def run(small: bool) -> Report:
    from wallet import selectors, services
    from wallet.models import AccountDelta, LedgerCheck

    report = Report("two beat processes at once")
    seconds = 8 if small else 30
    queue = f"drills-{uuid.uuid4().hex[:6]}"
    env = process_env(CELERY_QUEUE=queue, ROLLUP_SECONDS="1", LEDGER_CHECK_SECONDS="2", LOG_LEVEL="WARNING")
    logs = BASE_DIR / "var" / "drills"
    logs.mkdir(parents=True, exist_ok=True)
    world = people(viewers=4, creators=2, coins_each=100_000)
    checks_before = LedgerCheck.objects.count()
    worker = start(
        celery("worker", "-l", "warning", "--concurrency", "2", "-Q", queue), env=env, log=logs / "worker.log"
    )
    beats = [
        start(
            celery(
                "beat",
                "-l",
                "warning",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile=",
            ),
            env=env,
            log=logs / f"beat{n}.log",
        )
        for n in (1, 2)
    ]
    deadline = time.monotonic() + seconds

    def gifting(w: int) -> int:
        spent, i = 0, 0
        while time.monotonic() < deadline:
            creator = world.creators[i % 2]
            services.spend_coins(
                spender=world.viewers[w],
                coins=3,
                creator_user_id=creator.pk,
                diamonds=3,
                kind="gift",
                idempotency_key=f"drill-beat-{w}-{i}",
            )
            spent, i = spent + 3, i + 1
            time.sleep(0.005)
        return spent

    with processes(worker, *beats):
        results = run_concurrently(4, gifting, timeout=None)
        time.sleep(3)  # let the last roll-ups land
        alive = [p.poll() is None for p in beats]
    connection.close()
    intended = sum(r for r in results if isinstance(r, int))
    report.problems += [f"client failed: {r!r}" for r in results if isinstance(r, Exception)][:5]
    diamonds = sum(selectors.diamond_balance(user_id=c.pk) for c in world.creators)
    pending = AccountDelta.objects.filter(account__owner__in=world.creators).count()
    checks = LedgerCheck.objects.count() - checks_before
    report.did.append(
        f"2 beats + 1 worker for {seconds} s (roll-up every 1 s, ledger check every 2 s) under gifting"
    )
    report.found.append(
        f"beats alive at the end: {alive}; {checks} ledger checks ran; {intended} coins gifted, creators hold "
        f"{diamonds} diamonds ({pending} deltas still pending)"
    )
    if checks == 0:
        report.problems.append("no periodic task ran: the drill proved nothing")
    report.lost = max(0, intended - diamonds)
    report.doubled = max(0, diamonds - intended)
    # A check cut off when the drill stops the worker has no finish time: not a failure.
    failed_checks = LedgerCheck.objects.filter(ok=False, finished_at__isnull=False).count()
    if failed_checks:
        report.problems.append(f"{failed_checks} ledger checks during the drill found problems")
    check_ledger(report)
    return report
