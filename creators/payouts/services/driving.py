"""Driving payouts: claim each payout of a processing batch, move its diamonds to in-flight,
ask the provider, then settle or return it; exactly once per key (see the package docstring).

Payouts are claimed a chunk at a time (PAYOUT_CLAIM_CHUNK): one transaction locks the chunk,
posts every start in one statement and leases them; the provider is then asked about each
from PAYOUT_PROVIDER_CONCURRENCY threads, outside any transaction; one more transaction posts
every settle and return in one statement and records the results."""

from __future__ import annotations

import datetime
import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from creators.models import Creator, Payout, PayoutBatch
from creators.payout_providers import PayoutProviderUnavailable, TransferResult, get_provider
from creators.payouts import errors as payout_errors
from creators.payouts.services.planning import create_payout_batch
from wallet import errors
from wallet.earnings import held_for_disputes_of
from wallet.errors import CoinSiteError
from wallet.models import Account, Transaction, Unit, User
from wallet.services import (
    Leg,
    Posting,
    diamond_account_id,
    diamond_key,
    post_transaction,
    post_transactions,
    system_account_id,
)

logger = logging.getLogger(__name__)


def _system_accounts() -> dict[str, int]:
    """The ids of the system accounts payouts post to (looked up once per chunk of payouts)."""
    return {
        "in_flight": system_account_id(Account.Kind.PAYOUTS_IN_FLIGHT, Unit.DIAMOND),
        "paid_out": system_account_id(Account.Kind.PAID_OUT, Unit.DIAMOND),
    }


def _legs(
    payout: Payout,
    source: str,
    target: str,
    creator_account: int | None = None,
    system: Mapping[str, int] | None = None,
) -> list[Leg]:
    def account(name: str) -> int:
        if name == "creator":
            if creator_account is not None:
                return creator_account
            return diamond_account_id(user_id=payout.creator.user_id)
        if system is not None:
            return system[name]
        kind = Account.Kind.PAYOUTS_IN_FLIGHT if name == "in_flight" else Account.Kind.PAID_OUT
        return system_account_id(kind, Unit.DIAMOND)

    return [Leg(account(source), -payout.diamonds), Leg(account(target), payout.diamonds)]


_STEPS = {
    "start": (Transaction.Kind.PAYOUT, "creator", "in_flight"),
    "settle": (Transaction.Kind.PAYOUT_SETTLE, "in_flight", "paid_out"),
    "return": (Transaction.Kind.PAYOUT_RETURN, "in_flight", "creator"),
}


def _posting(
    payout: Payout, step: str, creator_account: int | None = None, system: Mapping[str, int] | None = None
) -> Posting:
    """The ledger transaction of one step of a payout (keyed `<provider key>-<step>`)."""
    kind, source, target = _STEPS[step]
    return Posting(
        kind=kind,
        legs=_legs(payout, source, target, creator_account, system),
        idempotency_key=f"{payout.provider_key}-{step}",
        reference=f"payout:{payout.pk}",
        memo=f"Payout #{payout.pk}, batch {payout.batch_id}, attempt {payout.attempt}",
    )


def _post(payout: Payout, step: str, creator_account: int | None = None) -> None:
    posting = _posting(payout, step, creator_account)
    post_transaction(
        kind=posting.kind,
        legs=posting.legs,
        idempotency_key=posting.idempotency_key,
        reference=posting.reference,
        memo=posting.memo,
    )


def _post_start(payout: Payout, creator_account: int | None = None) -> None:
    _post(payout, "start", creator_account)


def _post_settle(payout: Payout) -> None:
    _post(payout, "settle")


def _post_return(payout: Payout) -> None:
    _post(payout, "return")


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


def _creator_accounts(payouts: list[Payout]) -> dict[int, int]:
    """The diamond account id of each payout's creator, by creator user id (one query)."""
    key = diamond_key(0)
    users = {payout.creator.user_id for payout in payouts}
    return dict(
        Account.objects.filter(kind=key.kind, unit=key.unit, owner_id__in=users).values_list("owner_id", "pk")
    )


def _account_of(payout: Payout, accounts: dict[int, int]) -> int:
    found = accounts.get(payout.creator.user_id)
    # Never provisioned: the lookup raises AccountNotFound, as posting to it would.
    return found if found is not None else diamond_account_id(user_id=payout.creator.user_id)


@dataclass(frozen=True)
class Claimed:
    """A payout taken by `_claim_chunk`: `claim` to drive, or None when it ended right there
    (skipped: the creator or the balance no longer qualifies; nothing moved)."""

    payout_id: int
    claim: Claim | None


def _start_reasons(pending: list[Payout], accounts: dict[int, int]) -> dict[int, str]:
    """Why each pending payout may not start, by payout id: the creator or the account changed, or
    a dispute opened after the batch was planned holds diamonds it would take (the hold period was
    checked when planning and only lets more through as time passes)."""
    reasons: dict[int, str] = {}
    for payout in pending:
        reason = _why_not_payable(payout)
        if reason:
            reasons[payout.pk] = reason
    held = held_for_disputes_of(
        account_ids=[_account_of(p, accounts) for p in pending if p.pk not in reasons]
    )
    for payout in pending:
        if payout.pk in reasons:
            continue
        balance, on_hold = held.get(_account_of(payout, accounts), (0, 0))
        if on_hold > 0 and payout.diamonds > balance - on_hold:
            reasons[payout.pk] = payout_errors.SKIP_DISPUTED
    return reasons


def _post_starts(starting: list[Payout], accounts: dict[int, int], reasons: dict[int, str]) -> None:
    """Move the diamonds of every starting payout to in-flight in one statement; when one of them
    can no longer be paid (balance taken meanwhile, wallet frozen) nothing of that statement
    moved, so they are posted one by one and that one gets its reason."""
    try:
        system = _system_accounts()
        post_transactions([_posting(p, "start", _account_of(p, accounts), system) for p in starting])
        return
    except (errors.InsufficientCoins, errors.AccountFrozen):
        pass
    for payout in starting:
        try:
            _post_start(payout, _account_of(payout, accounts))
        except errors.InsufficientCoins:
            reasons[payout.pk] = payout_errors.SKIP_INSUFFICIENT
        except errors.AccountFrozen:
            reasons[payout.pk] = payout_errors.SKIP_FROZEN


def _claim_chunk(batch_id: int, limit: int) -> list[Claimed]:
    """Claim up to `limit` payouts of the batch that nobody is driving, in one transaction: start
    the pending ones (their diamonds to in-flight, in one posting statement) and lease them all.
    Empty when there is nothing left to claim."""
    now = timezone.now()
    with transaction.atomic():
        payouts = list(
            Payout.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                batch_id=batch_id,
                batch__status=PayoutBatch.Status.PROCESSING,
                status__in=Payout.OPEN_STATUSES,
            )
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .select_related("creator", "account")
            .order_by("id")[:limit]
        )
        if not payouts:
            return []
        accounts = _creator_accounts(payouts)
        pending = [p for p in payouts if p.status == Payout.Status.PENDING]
        reasons = _start_reasons(pending, accounts)
        starting = [p for p in pending if p.pk not in reasons]
        if starting:
            _post_starts(starting, accounts, reasons)
        for payout in payouts:
            if payout.pk in reasons:
                _skip(payout, reasons[payout.pk], now)
        started = [p.pk for p in starting if p.pk not in reasons]
        if started:
            Payout.objects.filter(pk__in=started).update(status=Payout.Status.IN_FLIGHT, started_at=now)
        driven = [p for p in payouts if p.pk not in reasons]
        if driven:
            Payout.objects.filter(pk__in=[p.pk for p in driven]).update(
                lease_until=now + datetime.timedelta(seconds=settings.PAYOUT_LEASE_SECONDS),
                provider_calls=F("provider_calls") + 1,
                updated_at=now,
            )
        return [
            Claimed(
                payout_id=payout.pk,
                claim=None
                if payout.pk in reasons
                else Claim(
                    payout_id=payout.pk,
                    attempt=payout.attempt,
                    provider=payout.provider,
                    destination=payout.destination,
                    amount_cents=payout.amount_cents,
                    currency=payout.currency,
                    key=payout.provider_key,
                    redrive=payout.status == Payout.Status.IN_FLIGHT,
                ),
            )
            for payout in payouts
        ]


def _claim_next(batch_id: int) -> Claimed | None:
    """Claim the next payout of the batch that nobody is driving (`_claim_chunk` of one)."""
    claimed = _claim_chunk(batch_id, 1)
    return claimed[0] if claimed else None


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


_RESULT_FIELDS = [
    "status",
    "provider_reference",
    "failure_code",
    "failure_message",
    "lease_until",
    "last_error",
    "finished_at",
    "updated_at",
]


def _record_result(payout: Payout, result: TransferResult, now: datetime.datetime) -> str:
    """Set a payout in flight to paid or failed from the provider's answer (not saved)."""
    payout.status = Payout.Status.PAID if result.ok else Payout.Status.FAILED
    payout.provider_reference = result.reference[:255]
    if result.ok:
        payout.failure_code = payout.failure_message = ""
    else:
        payout.failure_code = result.failure_code[:100]
        payout.failure_message = result.failure_message[:500]
    payout.lease_until = None
    payout.last_error = ""
    payout.finished_at = payout.updated_at = now
    return "paid" if result.ok else "failed"


def settle_payout(*, payout: Payout, result: TransferResult) -> str:
    """Apply the provider's answer to a payout in flight (locked by the caller): settle it or
    return its diamonds. Returns the outcome; a payout no longer in flight is left alone."""
    if payout.status != Payout.Status.IN_FLIGHT:
        return "already_done"
    if result.ok:
        _post_settle(payout)
    else:
        _post_return(payout)
    outcome = _record_result(payout, result, timezone.now())
    payout.save(update_fields=_RESULT_FIELDS)
    return outcome


def _finish_many(answers: list[tuple[Claim, TransferResult]]) -> dict[int, str]:
    """Settle or return every answered payout in one transaction: the payouts locked, every
    settle and return posted in one statement, the payouts updated in one statement. A payout
    no longer in flight, or retried meanwhile (another attempt), is left alone."""
    outcomes: dict[int, str] = {}
    if not answers:
        return outcomes
    now = timezone.now()
    with transaction.atomic():
        locked = {
            payout.pk: payout
            for payout in Payout.objects.select_for_update()
            .select_related("creator")
            .filter(pk__in=[claim.payout_id for claim, _ in answers])
            .order_by("id")
        }
        settling: list[tuple[Payout, TransferResult]] = []
        for claim, result in answers:
            payout = locked.get(claim.payout_id)
            if payout is None or payout.attempt != claim.attempt or payout.status != Payout.Status.IN_FLIGHT:
                outcomes[claim.payout_id] = "already_done"
            else:
                settling.append((payout, result))
        accounts = _creator_accounts([payout for payout, result in settling if not result.ok])
        system = _system_accounts()
        post_transactions(
            [
                _posting(payout, "settle", system=system)
                if result.ok
                else _posting(payout, "return", _account_of(payout, accounts), system)
                for payout, result in settling
            ]
        )
        for payout, result in settling:
            outcomes[payout.pk] = _record_result(payout, result, now)
        _save_results([payout for payout, _ in settling], now)
    return outcomes


def _save_results(payouts: list[Payout], now: datetime.datetime) -> None:
    """Write `_record_result`'s fields of these payouts in one UPDATE."""
    if not payouts:
        return
    rows = ", ".join(["(%s::bigint, %s, %s, %s, %s)"] * len(payouts))
    params: list[Any] = [now, now]
    for payout in payouts:
        params += [
            payout.pk,
            payout.status,
            payout.provider_reference,
            payout.failure_code,
            payout.failure_message,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Payout._meta.db_table} AS p SET status = v.status, provider_reference = v.reference,"
            " failure_code = v.code, failure_message = v.message, lease_until = NULL, last_error = '',"
            " finished_at = %s, updated_at = %s"
            f" FROM (VALUES {rows}) AS v(id, status, reference, code, message) WHERE p.id = v.id",
            params,
        )


def _finish(claim: Claim, result: TransferResult) -> str:
    return _finish_many([(claim, result)])[claim.payout_id]


Answer = TransferResult | CoinSiteError | Exception


def _answer(claim: Claim) -> Answer:
    try:
        return _ask_provider(claim)
    except Exception as exc:  # handed to the caller's thread, which decides (see _drive_many)
        return exc


def _ask_all(claims: list[Claim]) -> list[Answer]:
    """The provider's answer to each claim, PAYOUT_PROVIDER_CONCURRENCY calls at a time. Each worker
    thread uses its own database connection (closed when it ends), which cannot see the
    caller's uncommitted work: inside a transaction the calls are made one by one here."""
    concurrency = settings.PAYOUT_PROVIDER_CONCURRENCY
    if len(claims) < 2 or concurrency < 2 or connection.in_atomic_block:
        return [_answer(claim) for claim in claims]
    answers: list[Answer | None] = [None] * len(claims)
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(claims)):
        work.put(index)

    def worker() -> None:
        try:
            while True:
                try:
                    index = work.get_nowait()
                except queue.Empty:
                    return
                answers[index] = _answer(claims[index])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(min(concurrency, len(claims)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [answer if answer is not None else RuntimeError("no answer") for answer in answers]


def _drive_many(claims: list[Claim]) -> dict[int, str]:
    """Ask the provider about every claim (concurrently), then settle or return the answered
    ones together. A provider that is unavailable or refuses leaves its payout in flight
    (`unknown` / `error`) for a later run; any other failure is raised after the rest settled."""
    outcomes: dict[int, str] = {}
    answered: list[tuple[Claim, TransferResult]] = []
    unexpected: Exception | None = None
    for claim, answer in zip(claims, _ask_all(claims), strict=True):
        if isinstance(answer, TransferResult):
            answered.append((claim, answer))
        elif isinstance(answer, CoinSiteError):
            _note_error(claim, answer)
            outcomes[claim.payout_id] = (
                "unknown" if isinstance(answer, PayoutProviderUnavailable) else "error"
            )
        else:
            unexpected = unexpected or answer
    outcomes.update(_finish_many(answered))
    if unexpected is not None:
        raise unexpected
    return outcomes


def drive_claimed(claim: Claim) -> str:
    """Drive one claimed payout: ask the provider, then settle or return it."""
    return _drive_many([claim]).get(claim.payout_id, "error")


def process_payout_batch(*, batch_id: int, max_payouts: int | None = None) -> DriveReport:
    """Drive the batch's payouts until none is left to claim (others may still be held by
    other workers), then close the batch if every payout has ended. Payouts are claimed
    PAYOUT_CLAIM_CHUNK at a time and their provider calls made concurrently (settings). Safe to run any number of
    times, concurrently, and after a crash at any point."""
    report = DriveReport()
    while max_payouts is None or report.claimed < max_payouts:
        chunk = max(1, settings.PAYOUT_CLAIM_CHUNK)
        limit = chunk if max_payouts is None else min(chunk, max_payouts - report.claimed)
        claimed = _claim_chunk(batch_id, limit)
        if not claimed:
            break
        report.claimed += len(claimed)
        claims = [c.claim for c in claimed if c.claim is not None]
        outcomes = _drive_many(claims)
        for c in claimed:
            report.add(c.payout_id, "skipped" if c.claim is None else outcomes[c.payout_id])
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
