"""Driving payouts: claim each payout of a processing batch, move its diamonds to in-flight,
ask the provider, then settle or return it; exactly once per key (see the package docstring)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from creators.models import Creator, Payout, PayoutBatch
from creators.payout_providers import PayoutProviderUnavailable, TransferResult, get_provider
from creators.payouts import errors as payout_errors
from creators.payouts.services.planning import create_payout_batch
from wallet import errors
from wallet.earnings import held_for_disputes
from wallet.errors import CoinSiteError
from wallet.models import Account, Transaction, Unit, User
from wallet.services import Leg, diamond_account_id, post_transaction, system_account_id

logger = logging.getLogger(__name__)


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
