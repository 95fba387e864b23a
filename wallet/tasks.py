from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError

from wallet import services
from wallet.errors import PaymentProviderUnavailable
from wallet.purchases import reconciliation, webhooks


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def check_ledger() -> dict[str, object]:
    run = services.run_ledger_check()
    return {"ok": run.ok, "problems": len(run.problems)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def roll_up_deferred_accounts() -> int:
    return services.roll_up_all()


# ---------------------------------------------------------------- buying coins with Stripe


logger = logging.getLogger(__name__)

# Retried: the database or Stripe being briefly unreachable. Nothing else is retried blindly.
TRANSIENT = (OperationalError, PaymentProviderUnavailable)


def _reconcile_stripe_failure(
    task: Any, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any
) -> None:
    logger.error("reconcile_stripe gave up: %s", exc, extra={"task_id": task_id})


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, on_failure=_reconcile_stripe_failure)
def reconcile_stripe() -> dict[str, int]:
    """Beat: credit purchases whose webhook never came, close failed and abandoned ones."""
    run = reconciliation.run_reconciliation()
    return {
        "run": run.pk,
        "credited": run.credited,
        "failed": run.failed,
        "abandoned": run.abandoned,
        "issues": run.issues,
    }


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def retry_webhook_events() -> int:
    """Beat: process stored webhook events that failed or were interrupted."""
    return webhooks.retry_webhook_events()
