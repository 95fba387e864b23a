"""Queueing a Celery task from a request: after the commit, and never failing the request.

    enqueue_on_commit(tasks.process_payout_batch, batch_id)

The write has committed by the time the task is sent, so a broker that is down (Redis
stopped, restarted, unreachable) must not turn it into a 500: the failure is logged, and
the periodic task that owns the same work (reconciliation, webhook retry, payout batches)
picks it up on its next run. Every task is idempotent, so that later run is the same work,
done once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Signature, Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

# One quick retry (a pooled connection left over from before a Redis restart fails once),
# then give up: the socket timeouts in CELERY_BROKER_TRANSPORT_OPTIONS bound each attempt.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task: Task | Signature, *args: Any, **kwargs: Any) -> bool:
    """Send `task` (a task, or a signature naming one) now; True if the broker took it, False (logged) if it could not be reached."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except (BrokerUnavailable, ConnectionError, TimeoutError, OSError) as exc:
        logger.error(
            "could not queue %s (%s: %s); its periodic task will catch up",
            task.name,
            type(exc).__name__,
            exc,
            extra={"task": task.name, "task_args": args},
        )
        return False
    return True


def enqueue_on_commit(task: Task | Signature, *args: Any, **kwargs: Any) -> None:
    """Send `task` once the current transaction commits (at once outside a transaction)."""

    def enqueue_committed_task() -> None:
        enqueue(task, *args, **kwargs)

    transaction.on_commit(enqueue_committed_task)
