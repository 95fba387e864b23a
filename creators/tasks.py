from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from creators.services import roll_up_creator_earnings


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def roll_up_earnings() -> dict[str, object]:
    """Fold the ledger rows created since the last run into the creators' daily earnings rollups.
    Safe to run twice or concurrently: runs serialize on the rollup state row and each
    transaction window is counted once."""
    run = roll_up_creator_earnings()
    return {"horizon": run.horizon.isoformat(), "entries": run.entries}
