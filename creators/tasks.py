from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError

from creators.payouts.services import driving
from creators.services import roll_up_creator_earnings


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def roll_up_earnings() -> dict[str, object]:
    """Fold the ledger rows created since the last run into the creators' daily earnings rollups.
    Safe to run twice or concurrently: runs serialize on the rollup state row and each
    transaction window is counted once."""
    run = roll_up_creator_earnings()
    return {"horizon": run.horizon.isoformat(), "entries": run.entries}


# ---------------------------------------------------------------- payouts

logger = logging.getLogger(__name__)


def _run_payout_batch_failure(
    task: Any, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any
) -> None:
    logger.error("run_payout_batch gave up: %s", exc, extra={"task_id": task_id})


def _process_payout_batch_failure(
    task: Any, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any
) -> None:
    logger.error("process_payout_batch gave up: %s", exc, extra={"task_id": task_id, "args": args})


def _drive_payout_batches_failure(
    task: Any, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any
) -> None:
    logger.error("drive_payout_batches gave up: %s", exc, extra={"task_id": task_id})


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, on_failure=_run_payout_batch_failure
)
def run_payout_batch(period: str | None = None) -> dict[str, object]:
    """Beat (weekly): create this period's batch of every eligible creator and drive it, unless
    it waits for staff approval. Safe to run any number of times at once: one batch per
    period, each creator paid once."""
    run = driving.run_payout_batch(period=period)
    report = run.report
    return {
        "batch": run.batch.pk,
        "created": run.created,
        "status": run.batch.status,
        "paid": report.paid if report else 0,
        "failed": report.failed if report else 0,
    }


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    on_failure=_process_payout_batch_failure,
)
def process_payout_batch(batch_id: int) -> dict[str, int]:
    """Drive one batch's payouts (after approval, a staff retry, or a crash)."""
    report = driving.process_payout_batch(batch_id=batch_id)
    return {
        "claimed": report.claimed,
        "paid": report.paid,
        "failed": report.failed,
        "skipped": report.skipped,
    }


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    on_failure=_drive_payout_batches_failure,
)
def drive_payout_batches() -> int:
    """Beat (every few minutes): drive every batch still processing, e.g. payouts a crashed
    worker left in flight once their lease ran out."""
    return driving.drive_open_batches()
