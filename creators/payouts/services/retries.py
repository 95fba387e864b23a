"""Staff retries: a failed payout gets a new attempt with new keys, in its batch."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from creators.models import Payout, PayoutBatch
from creators.payouts import errors as payout_errors
from creators.payouts.services.planning import enqueue_batch_processing, lock_batch
from wallet import errors
from wallet.errors import CoinSiteError
from wallet.models import User

logger = logging.getLogger(__name__)


@dataclass
class RetryReport:
    retried: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def retry_failed_payouts(*, payout_ids: Iterable[int], staff: User | None) -> RetryReport:
    """Give failed payouts a new attempt: a new provider key (`payout-<id>-a<n>`) and new ledger
    keys, so the diamonds (returned when the last attempt failed) move to in-flight again once.
    The payout goes to the creator's current verified account; the amounts stay as planned."""
    report = RetryReport()
    batches: set[int] = set()
    for payout_id in sorted(set(payout_ids)):
        try:
            with transaction.atomic():
                found = Payout.objects.filter(pk=payout_id).values_list("batch_id", flat=True).first()
                if found is None:
                    raise errors.NotFound(payout_errors.PAYOUT_NOT_FOUND)
                batch = lock_batch(found)  # batch first, as `finish_batch_if_done` locks it
                payout = Payout.objects.select_for_update().select_related("account").get(pk=payout_id)
                if payout.status != Payout.Status.FAILED:
                    raise errors.WrongState(
                        payout_errors.NOT_FAILED.format(status=payout.get_status_display())
                    )
                if not payout.account.is_verified:
                    raise errors.WrongState(payout_errors.ACCOUNT_NOT_VERIFIED)
                payout.status = Payout.Status.PENDING
                payout.attempt += 1
                payout.provider = payout.account.provider
                payout.destination = payout.account.destination
                payout.provider_reference = payout.failure_code = payout.failure_message = (
                    payout.last_error
                ) = ""
                payout.lease_until = payout.started_at = payout.finished_at = None
                try:
                    with transaction.atomic():
                        payout.save()
                except IntegrityError as exc:
                    raise errors.WrongState(payout_errors.OTHER_PAYOUT_OPEN) from exc
                if batch.status != PayoutBatch.Status.PROCESSING:
                    batch.status = PayoutBatch.Status.PROCESSING
                    batch.finished_at = None
                    batch.save(update_fields=["status", "finished_at"])
                batches.add(batch.pk)
            report.retried.append(payout_id)
            logger.info("payout retried", extra={"payout": payout_id, "staff": getattr(staff, "pk", None)})
        except CoinSiteError as exc:
            report.refused[payout_id] = exc.message
    for batch_id in batches:
        enqueue_batch_processing(batch_id=batch_id)
    return report
