"""A payout batch of 10,000 creators with the `local` provider: plan the batch, then drive every
payout (claim, start posting, provider transfer, settle posting) in one process, as the
Celery task does. Baseline: the same ledger work as plain `wallet.services.post_transaction`
calls, one after another: for each creator its leftover diamond moved creator -> in flight ->
paid out (two postings, the strict creator debit included), as many transactions as the
batch posted (timed on 2,000, interleaved with the batch's slices, and scaled)."""

from __future__ import annotations

import datetime
import time
import uuid

from bench.harness import Row

PLAIN_SAMPLE = 2_000
CHUNKS = 10


def run(quick: bool) -> list[Row]:
    from django.conf import settings
    from django.utils import timezone

    from bench.payouts_data import make_eligible_creators
    from creators.models import Payout
    from creators.payouts.services import driving, planning
    from wallet.models import Account, Transaction, Unit
    from wallet.services import Leg, diamond_account_id, post_transaction, run_ledger_check, system_account_id

    n = 500 if quick else 10_000
    made = make_eligible_creators(n)
    in_flight = system_account_id(Account.Kind.PAYOUTS_IN_FLIGHT, Unit.DIAMOND)
    paid_out = system_account_id(Account.Kind.PAID_OUT, Unit.DIAMOND)
    accounts = [diamond_account_id(user_id=c.user_id) for c in made.creators]
    tag = uuid.uuid4().hex[:8]

    def plain_postings(creator_accounts: list[int]) -> float:
        """Each creator's leftover diamond moved out and settled; returns the seconds taken."""
        t0 = time.perf_counter()
        for account in creator_accounts:
            post_transaction(
                kind=Transaction.Kind.ADJUSTMENT,
                legs=[Leg(account, -1), Leg(in_flight, 1)],
                idempotency_key=f"bench-plain-{tag}-{account}-out",
            )
            post_transaction(
                kind=Transaction.Kind.ADJUSTMENT,
                legs=[Leg(in_flight, -1), Leg(paid_out, 1)],
                idempotency_key=f"bench-plain-{tag}-{account}-settle",
            )
        return time.perf_counter() - t0

    saved = settings.PAYOUT_APPROVAL_THRESHOLD_CENTS, settings.PAYOUT_PROVIDER
    # No staff approval step (it would hand the batch to a Celery worker): this process drives it.
    settings.PAYOUT_APPROVAL_THRESHOLD_CENTS, settings.PAYOUT_PROVIDER = 2**62, "local"
    try:
        t0 = time.perf_counter()
        # The creators' diamonds were credited just now: plan as of the day they clear the hold.
        after_hold = timezone.now() + datetime.timedelta(days=settings.EARNINGS_HOLD_DAYS, seconds=1)
        batch = planning.create_payout_batch(period=f"bench-{tag}", as_of=after_hold).batch
        seconds = time.perf_counter() - t0
        # Driven in CHUNKS slices (as the Celery task would, all in one call), each followed by
        # the plain postings of creators it just paid, so both see the same load on the machine.
        per_chunk, per_sample = -(-n // CHUNKS), min(n, PLAIN_SAMPLE // 2) // CHUNKS
        plain_seconds, plain_count = 0.0, 0
        for chunk in range(CHUNKS):
            t0 = time.perf_counter()
            driving.process_payout_batch(batch_id=batch.pk, max_payouts=per_chunk)
            seconds += time.perf_counter() - t0
            first = chunk * per_chunk
            plain_seconds += plain_postings(accounts[first : first + per_sample])
            plain_count += 2 * len(accounts[first : first + per_sample])
    finally:
        settings.PAYOUT_APPROVAL_THRESHOLD_CENTS, settings.PAYOUT_PROVIDER = saved
    batch.refresh_from_db()
    paid = Payout.objects.filter(batch=batch, status=Payout.Status.PAID).count()
    posted = Transaction.objects.filter(reference__startswith="payout:").count()
    plain_rate = plain_count / plain_seconds
    check = run_ledger_check()
    return [
        Row(
            f"payout batch, {n:,} creators, local provider",
            seconds,
            "s",
            f"{posted:,} plain post_transaction",
            posted / plain_rate,
            note=f"{paid:,}/{n:,} paid ({n / seconds:,.0f} payouts/s), batch {batch.status}, "
            f"{posted:,} ledger transactions; plain {plain_rate:,.0f}/s (timed on {plain_count:,}); "
            f"ledger check {'ok' if check.ok else f'{len(check.problems)} problems'}",
        ),
    ]
