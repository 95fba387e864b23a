"""Running the same batch at once, in threads and in real Celery worker processes, and the
payout drill's core with real workers SIGKILLed mid-batch: every creator is paid once."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from bench.payouts_data import make_eligible_creators
from creators import tasks
from creators.models import LocalTransfer, Payout, PayoutBatch
from drills import payout_kill
from drills.harness import celery, start, stop
from tests.concurrency import run_concurrently
from wallet.selectors import diamond_balance
from wallet.services import roll_up_all, run_ledger_check

pytestmark = pytest.mark.django_db(transaction=True)


def _test_database_url() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    user = db.get("USER") or "postgres"
    port = db.get("PORT") or db.get("OPTIONS", {}).get("port") or 5432
    if host.startswith("/"):
        return f"postgresql://{user}@/{db['NAME']}?host={host}&port={port}"
    return f"postgres://{user}:{db.get('PASSWORD') or ''}@{host}:{port}/{db['NAME']}"


def _worker_env(queue: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_QUEUE": queue,
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "0",
        # The creators' diamonds were credited just now: these tests are about paying them once.
        "EARNINGS_HOLD_DAYS": "0",
        **extra,
    }


def _assert_each_paid_once(creators: list[Any], balances: dict[int, int]) -> None:
    payouts = list(Payout.objects.all())
    assert len(payouts) == len(creators)
    assert Counter(p.creator_id for p in payouts).most_common(1)[0][1] == 1
    assert {p.status for p in payouts} == {Payout.Status.PAID}
    paid = Counter(LocalTransfer.objects.filter(status="paid").values_list("payout_id", flat=True))
    assert sorted(paid.values()) == [1] * len(creators)
    for creator in creators:
        assert diamond_balance(user_id=creator.user_id) == balances[creator.user_id] - 2 * (
            balances[creator.user_id] // 2
        )
    roll_up_all()
    assert run_ledger_check().ok


def test_five_threads_running_the_weekly_task_at_once_pay_each_creator_once(payout_settings):
    payout_settings.LOCAL_PAYOUT_DELAY_MS = 10
    made = make_eligible_creators(20, diamonds=[2_000 + i for i in range(20)])
    balances = {c.user_id: d for c, d in zip(made.creators, made.diamonds_each, strict=True)}
    results: list[Any] = run_concurrently(5, lambda i: tasks.run_payout_batch("2026-W20"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r["created"] for r in results) == [False, False, False, False, True]
    assert sum(r["paid"] for r in results) == 20  # the work was shared, nothing paid twice
    assert PayoutBatch.objects.get().status == PayoutBatch.Status.FINISHED
    _assert_each_paid_once(made.creators, balances)


def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_five_copies_of_the_task_on_four_worker_processes_pay_each_creator_once(tmp_path: Path):
    made = make_eligible_creators(24, diamonds=[2_000 + i for i in range(24)])
    balances = {c.user_id: d for c, d in zip(made.creators, made.diamonds_each, strict=True)}
    queue = f"test-payouts-{uuid.uuid4().hex[:6]}"
    worker = start(
        celery(
            "worker",
            "-l",
            "warning",
            "--concurrency",
            "4",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
        ),
        env=_worker_env(queue, LOCAL_PAYOUT_DELAY_MS="40"),
        log=tmp_path / "worker.log",
    )
    try:
        for _ in range(5):
            tasks.run_payout_batch.apply_async(args=["2026-W21"], queue=queue)
        finished = _wait_for(
            lambda: PayoutBatch.objects.filter(
                period="2026-W21", status=PayoutBatch.Status.FINISHED
            ).exists(),
            45,
        )
    finally:
        stop(worker)
    assert finished, (tmp_path / "worker.log").read_text()[-3000:]
    _assert_each_paid_once(made.creators, balances)
    # No payout was claimed twice (each claim is counted on the payout).
    assert set(Payout.objects.values_list("provider_calls", flat=True)) == {1}


def test_workers_killed_with_sigkill_mid_batch_still_pay_each_creator_once(tmp_path: Path):
    """The payout_kill drill's core at a small size, against the test database."""
    world = payout_kill.make_world(12, seed=1234)
    connection.close()
    queue = f"test-kill-{uuid.uuid4().hex[:6]}"
    env = payout_kill.worker_env(world, queue, DATABASE_URL=_test_database_url(), DB_CONN_MAX_AGE="0")

    log = payout_kill.drive_with_kills(world, kills=3, env=env, queue=queue, logs=tmp_path, seed=1234)
    verdict = payout_kill.verify(world)

    assert log.finished and log.kills == 3
    assert any(log.in_flight_at_kill), log
    assert verdict.problems == []
    assert (verdict.not_ended, verdict.paid_twice) == (0, 0)
    assert verdict.paid + verdict.failed_returned == 12 and verdict.failed_returned == 1
    assert verdict.cash_paid_cents == verdict.cash_expected_cents
    roll_up_all()
    assert run_ledger_check().ok
