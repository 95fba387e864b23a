"""Payout batches: the period's batch of every eligible creator, staff approval or rejection
above the threshold, and queueing a batch to be driven (`creators.payouts.services.driving`)."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coinsite.tasks import enqueue_on_commit
from creators import permissions
from creators.models import Payout, PayoutBatch
from creators.payouts import errors as payout_errors
from wallet import errors
from wallet.earnings import hold_cutoff
from wallet.models import User
from wallet.moderation import audit

logger = logging.getLogger(__name__)

PERIOD = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
PROCESS_BATCH_TASK = "creators.tasks.process_payout_batch"

# Every eligible creator in one statement: eligibility, the payable cents and the diamonds
# covering them are `creators_payout_candidates` (creators/sql/payouts.sql), the one definition
# the studio shows too. ON CONFLICT DO NOTHING: a concurrent batch that planned the same
# creator first wins (one open payout per creator).
_PLAN_SQL = """
INSERT INTO creators_payout (
    batch_id, creator_id, account_id, provider, destination, diamonds, amount_cents, currency,
    diamond_value_millicents, status, attempt, provider_calls, provider_reference, failure_code,
    failure_message, last_error, reversed_cents, returned_diamonds, created_at, updated_at)
SELECT %(batch)s::bigint, k.creator_id, k.payout_account_id, k.provider, k.destination, k.diamonds, k.cents,
       %(currency)s::text, %(rate)s::bigint, 'pending', 1, 0, '', '', '', '', 0, 0,
       %(now)s::timestamptz, %(now)s::timestamptz
  FROM creators_payout_candidates(%(cutoff)s::timestamptz, %(rate)s::bigint, %(minimum)s::bigint) k
 WHERE k.eligible
 ORDER BY k.creator_id
ON CONFLICT DO NOTHING
"""


def current_period(now: datetime.datetime | None = None) -> str:
    """The weekly batch's period: the ISO week, e.g. `2026-W48`."""
    year, week, _ = (now or timezone.now()).astimezone(datetime.UTC).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class BatchCreation:
    batch: PayoutBatch
    created: bool


def create_payout_batch(
    *, period: str | None = None, created_by: User | None = None, as_of: datetime.datetime | None = None
) -> BatchCreation:
    """The batch of `period` (default: this ISO week) with a payout for every eligible creator;
    an existing batch of that period is returned as it is. Above PAYOUT_APPROVAL_THRESHOLD_CENTS
    it waits for staff approval. Only diamonds payable at `as_of` (default now) are paid: the
    earnings hold is measured from it."""
    period = (period or current_period()).strip()
    if not PERIOD.match(period):
        raise errors.InvalidRequest(payout_errors.PERIOD_INVALID)
    existing = PayoutBatch.objects.filter(period=period).first()
    if existing is not None:
        return BatchCreation(batch=existing, created=False)
    rate = settings.DIAMOND_VALUE_MILLICENTS
    now = timezone.now()
    try:
        with transaction.atomic():
            batch = PayoutBatch.objects.create(
                period=period,
                currency=settings.COIN_CURRENCY,
                diamond_value_millicents=rate,
                created_by=created_by,
                created_at=now,
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    _PLAN_SQL,
                    {
                        "batch": batch.pk,
                        "rate": rate,
                        "currency": settings.COIN_CURRENCY,
                        "minimum": settings.MINIMUM_PAYOUT_CENTS,
                        "now": now,
                        "cutoff": hold_cutoff(as_of or now),
                    },
                )
                cursor.execute(
                    "SELECT count(*), COALESCE(sum(amount_cents), 0), COALESCE(sum(diamonds), 0)"
                    " FROM creators_payout WHERE batch_id = %s",
                    [batch.pk],
                )
                count, cents, diamonds = cursor.fetchone()
            batch.payouts_planned, batch.total_cents, batch.total_diamonds = (
                int(count),
                int(cents),
                int(diamonds),
            )
            if count == 0:
                batch.status = PayoutBatch.Status.FINISHED
                batch.finished_at = now
            elif cents > settings.PAYOUT_APPROVAL_THRESHOLD_CENTS:
                batch.status = PayoutBatch.Status.AWAITING_APPROVAL
            batch.save()
    except IntegrityError:
        # A concurrent run created this period's batch first (UNIQUE period): use that one.
        existing = PayoutBatch.objects.filter(period=period).first()
        if existing is None:
            raise
        return BatchCreation(batch=existing, created=False)
    logger.info(
        "payout batch created",
        extra={"batch": batch.pk, "period": period, "payouts": count, "cents": cents, "status": batch.status},
    )
    return BatchCreation(batch=batch, created=True)


def lock_batch(batch_id: int) -> PayoutBatch:
    """The batch, locked for this transaction (NotFound if there is none)."""
    batch = PayoutBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise errors.NotFound(payout_errors.BATCH_NOT_FOUND)
    return batch


APPROVE_PERMISSION = permissions.APPROVE_PAYOUT_BATCH
BATCH_FIELDS = ("status", "decided_by", "decision_reason")


def _check_may_decide(staff: User) -> None:
    if not staff.has_perm(APPROVE_PERMISSION):
        raise errors.NotAllowed(payout_errors.APPROVE_NOT_ALLOWED)


def approve_payout_batch(*, batch_id: int, staff: User, reason: str = "") -> PayoutBatch:
    """Release a batch that waited for approval (by someone who neither created it nor is paid
    by it), audited; its payouts are then driven."""
    _check_may_decide(staff)
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if batch.status != PayoutBatch.Status.AWAITING_APPROVAL:
            raise errors.WrongState(
                payout_errors.BATCH_NOT_AWAITING.format(status=batch.get_status_display())
            )
        if batch.created_by_id == staff.pk:
            raise errors.NotAllowed(payout_errors.OWN_BATCH)
        if batch.payouts.filter(creator__user_id=staff.pk).exists():
            raise errors.NotAllowed(payout_errors.OWN_PAYOUT_IN_BATCH)
        before = audit.snapshot(batch, BATCH_FIELDS)
        batch.status = PayoutBatch.Status.PROCESSING
        batch.decided_at, batch.decided_by, batch.decision_reason = timezone.now(), staff, reason[:255]
        batch.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit.record(
            actor=staff,
            action="payoutbatch.approve",
            target=batch,
            reason=reason.strip(),
            before=before,
            after={**audit.snapshot(batch, BATCH_FIELDS), "total_cents": batch.total_cents},
        )
        enqueue_batch_processing(batch_id=batch.pk)
        return batch


def reject_payout_batch(*, batch_id: int, staff: User, reason: str) -> PayoutBatch:
    """Reject a batch that waited for approval: nothing moved, its payouts are cancelled."""
    _check_may_decide(staff)
    if not reason.strip():
        raise errors.InvalidRequest(payout_errors.REJECT_REASON_REQUIRED)
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if batch.status != PayoutBatch.Status.AWAITING_APPROVAL:
            raise errors.WrongState(
                payout_errors.BATCH_NOT_AWAITING.format(status=batch.get_status_display())
            )
        now = timezone.now()
        before = audit.snapshot(batch, BATCH_FIELDS)
        batch.status = PayoutBatch.Status.REJECTED
        batch.decided_at, batch.decided_by, batch.decision_reason = now, staff, reason.strip()[:255]
        batch.finished_at = now
        batch.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "finished_at"])
        audit.record(
            actor=staff,
            action="payoutbatch.reject",
            target=batch,
            reason=reason.strip(),
            before=before,
            after=audit.snapshot(batch, BATCH_FIELDS),
        )
        batch.payouts.filter(status=Payout.Status.PENDING).update(
            status=Payout.Status.CANCELLED,
            failure_message=payout_errors.BATCH_REJECTED_BY_STAFF,
            finished_at=now,
        )
        return batch


def enqueue_batch_processing(*, batch_id: int) -> None:
    """Queue the `creators.tasks.process_payout_batch` task once the current transaction
    commits; by name, so the services do not import the tasks that call them."""
    enqueue_on_commit(current_app.signature(PROCESS_BATCH_TASK), batch_id)
