"""Creator payouts: accounts, batches, and driving each payout exactly once.

A payout moves money in three keyed steps, each a ledger transaction (one round trip, replay
of a key moves nothing) written in the same database transaction as the payout's new status:

    start   creator diamonds -> PAYOUTS_IN_FLIGHT          `<key>-start`   pending   -> in_flight
    (provider transfer, idempotency key `<key>`, outside any database transaction)
    settle  PAYOUTS_IN_FLIGHT -> PAID_OUT                   `<key>-settle`  in_flight -> paid
    return  PAYOUTS_IN_FLIGHT -> creator diamonds           `<key>-return`  in_flight -> failed

`<key>` is `payout-<id>` for the first attempt and `payout-<id>-a<n>` for a staff retry.
A crash before `start` commits leaves the payout pending; after it, the payout is in flight
and the next run drives it again: it asks the provider for the outcome of `<key>` (and sends
it again with the same key if the provider has none; providers dedupe), then settles or
returns. Whoever drives a payout claims it first (`SELECT ... FOR UPDATE SKIP LOCKED` plus a
lease, so five concurrent runs share the work and a crashed worker's claim runs out); the
claim is not what makes it exactly-once, the keys are: two drivers of the same payout send
the same key and post the same ledger keys.

Creators are paid once per batch (UNIQUE batch, creator) and have at most one open payout
(UNIQUE creator WHERE status IN (pending, in_flight)); one batch per period (UNIQUE period),
so concurrent runs of the weekly task share one batch.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from coinsite.tasks import enqueue_on_commit
from creators.models import Creator, Payout, PayoutAccount, PayoutBatch
from creators.payout_providers import (
    PayoutProviderUnavailable,
    TransferResult,
    configured_provider,
    get_provider,
)
from creators.payouts import errors as payout_errors
from creators.services.onboarding import require_creator_age
from wallet import errors
from wallet.earnings import diamonds_to_cents, held_ctes, held_for_disputes, hold_cutoff
from wallet.errors import CoinSiteError
from wallet.models import Account, Transaction, Unit, User
from wallet.moderation import audit
from wallet.services import Leg, diamond_account_id, post_transaction, system_account_id

logger = logging.getLogger(__name__)

PERIOD = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")


# ---------------------------------------------------------------- payout accounts


def connect_payout_account(*, creator: Creator, destination: str = "") -> PayoutAccount:
    """Connect (or replace) the creator's payout account with the configured provider.

    A Stripe account waits for staff to verify it; a `local` account verifies itself when
    `LOCAL_PAYOUTS_AUTO_VERIFY` (development). Payouts already made keep their destination."""
    if creator.status != Creator.Status.APPROVED:
        raise errors.NotAllowed(payout_errors.NOT_A_CREATOR)
    require_creator_age(creator.user)
    provider = configured_provider()
    if provider.name == PayoutAccount.Provider.LOCAL and not destination.strip():
        destination = f"local-{creator.pk}"
    destination = provider.validate_destination(destination)
    auto_verify = provider.name == PayoutAccount.Provider.LOCAL and settings.LOCAL_PAYOUTS_AUTO_VERIFY
    now = timezone.now()
    try:
        with transaction.atomic():
            account = PayoutAccount.objects.select_for_update().filter(creator=creator).first()
            if account is not None and (account.provider, account.destination) == (
                provider.name,
                destination,
            ):
                return account
            if account is None:
                account = PayoutAccount(creator=creator)
            account.provider = provider.name
            account.destination = destination
            account.status = PayoutAccount.Status.VERIFIED if auto_verify else PayoutAccount.Status.UNVERIFIED
            account.status_reason = "Verified automatically (local provider)." if auto_verify else ""
            account.verified_at = now if auto_verify else None
            account.verified_by = None
            account.save()
            return account
    except IntegrityError as exc:
        raise errors.InvalidRequest(payout_errors.DESTINATION_TAKEN) from exc


VERIFY_PERMISSION = "creators.verify_payoutaccount"
ACCOUNT_FIELDS = ("status", "status_reason", "verified_by", "provider", "destination")


def set_payout_account_verified(
    *, account_id: int, staff: User, verified: bool, reason: str
) -> PayoutAccount:
    """Staff verify an account (or take the verification back), with a reason, audited. Needs
    its own permission (not the one that runs batches) and is never done by the account's creator."""
    if not staff.has_perm(VERIFY_PERMISSION):
        raise errors.NotAllowed(payout_errors.VERIFY_NOT_ALLOWED)
    reason = audit.require_reason(reason)
    with transaction.atomic():
        account = (
            PayoutAccount.objects.select_for_update().select_related("creator").filter(pk=account_id).first()
        )
        if account is None:
            raise errors.NotFound(payout_errors.ACCOUNT_NOT_FOUND)
        if account.creator.user_id == staff.pk:
            raise errors.NotAllowed(payout_errors.OWN_PAYOUT_ACCOUNT)
        before = audit.snapshot(account, ACCOUNT_FIELDS)
        account.status = PayoutAccount.Status.VERIFIED if verified else PayoutAccount.Status.UNVERIFIED
        account.status_reason = reason[:255]
        account.verified_at = timezone.now() if verified else None
        account.verified_by = staff if verified else None
        account.save(update_fields=["status", "status_reason", "verified_at", "verified_by", "updated_at"])
        audit.record(
            actor=staff,
            action="payoutaccount.verify" if verified else "payoutaccount.unverify",
            target=account,
            reason=reason,
            before=before,
            after=audit.snapshot(account, ACCOUNT_FIELDS),
        )
        return account


# ---------------------------------------------------------------- batches


def current_period(now: datetime.datetime | None = None) -> str:
    """The weekly batch's period: the ISO week, e.g. `2026-W48`."""
    year, week, _ = (now or timezone.now()).astimezone(datetime.UTC).isocalendar()
    return f"{year}-W{week:02d}"


def cents_for(diamonds: int, rate: int | None = None) -> int:
    return diamonds_to_cents(diamonds, rate)


def diamonds_covering(cents: int, rate: int | None = None) -> int:
    """The fewest diamonds worth exactly `cents` (`cents_for` of them is `cents`); paying these
    out of a balance worth `cents` leaves a remainder worth less than one cent."""
    rate = settings.DIAMOND_VALUE_MILLICENTS if rate is None else rate
    return (cents * 1000 + rate - 1) // rate


# Every eligible creator in one statement: approved, a verified payout account, payable diamonds
# (the exact balance less what the earnings hold and open chargebacks hold, wallet.earnings)
# worth at least the minimum, not frozen, and no payout open elsewhere. ON CONFLICT DO NOTHING: a
# concurrent batch that planned the same creator first wins (one open payout per creator).
# Diamonds are the fewest covering the whole cents. Everything is bigint (parameters and sum()
# cast): an integer parameter may arrive as numeric and sum(bigint) is numeric, and numeric `/`
# does not truncate (2001 * 500 / 1000 = 1000.5, stored as 1001 cents).
_PLAN_SQL = (
    "WITH "
    + held_ctes()
    + """
INSERT INTO creators_payout (
    batch_id, creator_id, account_id, provider, destination, diamonds, amount_cents, currency,
    diamond_value_millicents, status, attempt, provider_calls, provider_reference, failure_code,
    failure_message, last_error, reversed_cents, returned_diamonds, created_at, updated_at)
SELECT %(batch)s::bigint, c.id, pa.id, pa.provider, pa.destination,
       (bal.cents * 1000 + %(rate)s::bigint - 1) / %(rate)s::bigint, bal.cents, %(currency)s::text,
       %(rate)s::bigint, 'pending', 1, 0, '', '', '', '', 0, 0, %(now)s::timestamptz, %(now)s::timestamptz
  FROM creators_creator c
  JOIN creators_payoutaccount pa ON pa.creator_id = c.id AND pa.status = 'verified'
  JOIN wallet_account a
    ON a.owner_id = c.user_id AND a.kind = 'creator_diamonds' AND a.unit = 'DIAMOND' AND NOT a.frozen
  JOIN held h ON h.account_id = a.id
 CROSS JOIN LATERAL (SELECT (h.balance - h.held) * %(rate)s::bigint / 1000 AS cents) bal
 WHERE c.status = 'approved'
   AND bal.cents >= %(minimum)s::bigint
   AND NOT EXISTS (
        SELECT 1 FROM creators_payout p WHERE p.creator_id = c.id AND p.status IN ('pending', 'in_flight'))
 ORDER BY c.id
ON CONFLICT DO NOTHING
"""
)


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
                        "minimum": max(settings.MINIMUM_PAYOUT_CENTS, 1),
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


def _batch_for_update(batch_id: int) -> PayoutBatch:
    batch = PayoutBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise errors.NotFound(payout_errors.BATCH_NOT_FOUND)
    return batch


APPROVE_PERMISSION = "creators.approve_payoutbatch"
BATCH_FIELDS = ("status", "decided_by", "decision_reason")


def _check_may_decide(staff: User) -> None:
    if not staff.has_perm(APPROVE_PERMISSION):
        raise errors.NotAllowed(payout_errors.APPROVE_NOT_ALLOWED)


def approve_payout_batch(*, batch_id: int, staff: User, reason: str = "") -> PayoutBatch:
    """Release a batch that waited for approval (by someone who neither created it nor is paid
    by it), audited; its payouts are then driven."""
    _check_may_decide(staff)
    with transaction.atomic():
        batch = _batch_for_update(batch_id)
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
        batch = _batch_for_update(batch_id)
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
            status=Payout.Status.CANCELLED, failure_message="Batch rejected by staff.", finished_at=now
        )
        return batch


def enqueue_batch_processing(*, batch_id: int) -> None:
    """Queue `process_payout_batch` once the current transaction commits."""
    from creators import tasks  # the tasks module imports this one

    enqueue_on_commit(tasks.process_payout_batch, batch_id)


# ---------------------------------------------------------------- driving payouts


def _legs(payout: Payout, source: str, target: str) -> list[Leg]:
    def account(name: str) -> int:
        if name == "creator":
            return diamond_account_id(user_id=payout.creator.user_id)
        kind = Account.Kind.PAYOUTS_IN_FLIGHT if name == "in_flight" else Account.Kind.PAID_OUT
        return system_account_id(kind, Unit.DIAMOND)

    return [Leg(account(source), -payout.diamonds), Leg(account(target), payout.diamonds)]


def _post(payout: Payout, *, step: str, kind: str, legs: list[Leg]) -> None:
    post_transaction(
        kind=kind,
        legs=legs,
        idempotency_key=f"{payout.provider_key}-{step}",
        reference=f"payout:{payout.pk}",
        memo=f"Payout #{payout.pk}, batch {payout.batch_id}, attempt {payout.attempt}",
    )


def _post_start(payout: Payout) -> None:
    _post(payout, step="start", kind=Transaction.Kind.PAYOUT, legs=_legs(payout, "creator", "in_flight"))


def _post_settle(payout: Payout) -> None:
    _post(
        payout,
        step="settle",
        kind=Transaction.Kind.PAYOUT_SETTLE,
        legs=_legs(payout, "in_flight", "paid_out"),
    )


def _post_return(payout: Payout) -> None:
    _post(
        payout, step="return", kind=Transaction.Kind.PAYOUT_RETURN, legs=_legs(payout, "in_flight", "creator")
    )


@dataclass(frozen=True)
class Claim:
    payout_id: int
    attempt: int
    provider: str
    destination: str
    amount_cents: int
    currency: str
    key: str
    redrive: bool


@dataclass
class DriveReport:
    claimed: int = 0
    paid: int = 0
    failed: int = 0
    skipped: int = 0
    left_in_flight: int = 0
    already_done: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)

    def add(self, payout_id: int, outcome: str) -> None:
        self.outcomes[payout_id] = outcome
        if outcome == "paid":
            self.paid += 1
        elif outcome == "failed":
            self.failed += 1
        elif outcome == "skipped":
            self.skipped += 1
        elif outcome == "already_done":
            self.already_done += 1
        else:
            self.left_in_flight += 1


def _skip(payout: Payout, reason: str, now: datetime.datetime) -> None:
    payout.status = Payout.Status.SKIPPED
    payout.failure_message = reason[:500]
    payout.finished_at = now
    payout.lease_until = None
    payout.save(update_fields=["status", "failure_message", "finished_at", "lease_until", "updated_at"])


def _why_not_payable(payout: Payout) -> str:
    if payout.creator.status != Creator.Status.APPROVED:
        return payout_errors.SKIP_SUSPENDED.format(status=payout.creator.get_status_display())
    account = payout.account
    if not account.is_verified or (account.provider, account.destination) != (
        payout.provider,
        payout.destination,
    ):
        return payout_errors.SKIP_ACCOUNT_CHANGED
    return ""


def _held_by_disputes(payout: Payout) -> bool:
    """A dispute opened after the batch was planned holds diamonds this payout would take (the
    hold period was checked when planning and only lets more through as time passes)."""
    account_id = diamond_account_id(user_id=payout.creator.user_id)
    balance, held = held_for_disputes(account_id=account_id)
    return held > 0 and payout.diamonds > balance - held


@dataclass(frozen=True)
class Claimed:
    """A payout taken by `_claim_next`: `claim` to drive, or None when it ended right there
    (skipped: the creator or the balance no longer qualifies; nothing moved)."""

    payout_id: int
    claim: Claim | None


def _claim_next(batch_id: int) -> Claimed | None:
    """Claim the next payout of the batch that nobody is driving: start it if pending (move its
    diamonds to in-flight) and lease it. None when there is nothing left to claim."""
    now = timezone.now()
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                batch_id=batch_id,
                batch__status=PayoutBatch.Status.PROCESSING,
                status__in=Payout.OPEN_STATUSES,
            )
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .select_related("creator", "account")
            .order_by("id")
            .first()
        )
        if payout is None:
            return None
        redrive = payout.status == Payout.Status.IN_FLIGHT
        if payout.status == Payout.Status.PENDING:
            reason = _why_not_payable(payout)
            if not reason and _held_by_disputes(payout):
                reason = payout_errors.SKIP_DISPUTED
            if not reason:
                try:
                    _post_start(payout)
                except errors.InsufficientCoins:
                    reason = payout_errors.SKIP_INSUFFICIENT
                except errors.AccountFrozen:
                    reason = payout_errors.SKIP_FROZEN
            if reason:
                _skip(payout, reason, now)
                return Claimed(payout_id=payout.pk, claim=None)
            payout.status = Payout.Status.IN_FLIGHT
            payout.started_at = now
        payout.lease_until = now + datetime.timedelta(seconds=settings.PAYOUT_LEASE_SECONDS)
        payout.provider_calls += 1
        payout.save(update_fields=["status", "started_at", "lease_until", "provider_calls", "updated_at"])
        claim = Claim(
            payout_id=payout.pk,
            attempt=payout.attempt,
            provider=payout.provider,
            destination=payout.destination,
            amount_cents=payout.amount_cents,
            currency=payout.currency,
            key=payout.provider_key,
            redrive=redrive,
        )
        return Claimed(payout_id=payout.pk, claim=claim)


def _ask_provider(claim: Claim) -> TransferResult:
    provider = get_provider(claim.provider)
    if claim.redrive:
        # In flight already: a driver crashed or lost its claim after moving the diamonds.
        found = provider.find_transfer(idempotency_key=claim.key)
        if found is not None:
            return found
    return provider.transfer(
        payout_id=claim.payout_id,
        destination=claim.destination,
        amount_cents=claim.amount_cents,
        currency=claim.currency,
        idempotency_key=claim.key,
    )


def _note_error(claim: Claim, exc: CoinSiteError) -> None:
    # The lease is kept: the payout is tried again when it runs out (a backoff), by any run.
    logger.warning("payout %s left in flight: %s", claim.payout_id, exc.message, extra={"key": claim.key})
    Payout.objects.filter(pk=claim.payout_id, attempt=claim.attempt).update(
        last_error=f"{exc.code}: {exc.message}"[:500], updated_at=timezone.now()
    )


def settle_payout(*, payout: Payout, result: TransferResult) -> str:
    """Apply the provider's answer to a payout in flight (locked by the caller): settle it or
    return its diamonds. Returns the outcome; a payout no longer in flight is left alone."""
    if payout.status != Payout.Status.IN_FLIGHT:
        return "already_done"
    now = timezone.now()
    if result.ok:
        _post_settle(payout)
        payout.status = Payout.Status.PAID
        payout.provider_reference = result.reference[:255]
        payout.failure_code = payout.failure_message = ""
    else:
        _post_return(payout)
        payout.status = Payout.Status.FAILED
        payout.provider_reference = result.reference[:255]
        payout.failure_code = result.failure_code[:100]
        payout.failure_message = result.failure_message[:500]
    payout.lease_until = None
    payout.last_error = ""
    payout.finished_at = now
    payout.save(
        update_fields=[
            "status",
            "provider_reference",
            "failure_code",
            "failure_message",
            "lease_until",
            "last_error",
            "finished_at",
            "updated_at",
        ]
    )
    return "paid" if result.ok else "failed"


def _finish(claim: Claim, result: TransferResult) -> str:
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("creator").get(pk=claim.payout_id)
        if payout.attempt != claim.attempt:
            return "already_done"
        return settle_payout(payout=payout, result=result)


def drive_claimed(claim: Claim) -> str:
    try:
        result = _ask_provider(claim)
    except PayoutProviderUnavailable as exc:
        _note_error(claim, exc)
        return "unknown"
    except CoinSiteError as exc:
        _note_error(claim, exc)
        return "error"
    return _finish(claim, result)


def process_payout_batch(*, batch_id: int, max_payouts: int | None = None) -> DriveReport:
    """Drive the batch's payouts until none is left to claim (others may still be held by
    other workers), then close the batch if every payout has ended. Safe to run any number of
    times, concurrently, and after a crash at any point."""
    report = DriveReport()
    # Resolved outside any transaction so the ids are cached for the postings below.
    system_account_id(Account.Kind.PAYOUTS_IN_FLIGHT, Unit.DIAMOND)
    system_account_id(Account.Kind.PAID_OUT, Unit.DIAMOND)
    while max_payouts is None or report.claimed < max_payouts:
        claimed = _claim_next(batch_id)
        if claimed is None:
            break
        report.claimed += 1
        outcome = "skipped" if claimed.claim is None else drive_claimed(claimed.claim)
        report.add(claimed.payout_id, outcome)
    finish_batch_if_done(batch_id=batch_id)
    return report


def finish_batch_if_done(*, batch_id: int) -> bool:
    """Mark a processing batch finished when none of its payouts is pending or in flight."""
    with transaction.atomic():
        # Locked first (a staff retry locks it too), then counted with a fresh snapshot.
        batch = PayoutBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status != PayoutBatch.Status.PROCESSING:
            return False
        if batch.payouts.filter(status__in=Payout.OPEN_STATUSES).exists():
            return False
        batch.status = PayoutBatch.Status.FINISHED
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "finished_at"])
        return True


@dataclass(frozen=True)
class BatchRun:
    batch: PayoutBatch
    created: bool
    report: DriveReport | None


def run_payout_batch(
    *, period: str | None = None, created_by: User | None = None, as_of: datetime.datetime | None = None
) -> BatchRun:
    """Create (or find) the period's batch and drive it unless it waits for approval."""
    creation = create_payout_batch(period=period, created_by=created_by, as_of=as_of)
    report = None
    if creation.batch.status == PayoutBatch.Status.PROCESSING:
        report = process_payout_batch(batch_id=creation.batch.pk)
    creation.batch.refresh_from_db()
    return BatchRun(batch=creation.batch, created=creation.created, report=report)


def drive_open_batches() -> int:
    """Drive every processing batch (payouts left by a crash, retries, approvals); returns how many."""
    ids = list(
        PayoutBatch.objects.filter(status=PayoutBatch.Status.PROCESSING)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    for batch_id in ids:
        process_payout_batch(batch_id=batch_id)
    return len(ids)


# ---------------------------------------------------------------- staff retries


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
                batch = _batch_for_update(found)  # batch first, as `finish_batch_if_done` locks it
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
