from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from wallet import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def check_ledger() -> dict[str, object]:
    run = services.run_ledger_check()
    return {"ok": run.ok, "problems": len(run.problems)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def roll_up_deferred_accounts() -> int:
    return services.roll_up_all()
