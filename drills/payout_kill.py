"""A payout batch driven by real Celery workers that are killed with SIGKILL at random moments.

Creators with verified `local` payout accounts (about one in ten refused by the provider) are
put in one batch. A worker (2 processes, each claiming a few payouts at a time and calling the
provider from two threads) drives it with a slowed-down local provider, and is
SIGKILLed at a random moment once it is busy, then restarted, again and again; at the end a
worker finishes the batch, re-sent the work every second like the beat's drive task. Then
every creator must have been paid at most once (one paid `LocalTransfer`), every payout must
have ended paid or failed-and-returned, the cash paid must equal the diamonds debited at the
configured rate, and the ledger check must be clean.
"""

from __future__ import annotations

import datetime
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.utils import timezone

from drills.harness import BASE_DIR, Report, celery, check_ledger, process_env, start, stop

DELAY_MS = 250
LEASE_SECONDS = 2
CLAIM_CHUNK = 4
PROVIDER_CONCURRENCY = 2
FINISH_TIMEOUT = 180.0


@dataclass
class PayoutWorld:
    batch_id: int
    creator_user_ids: list[int]
    start_balances: dict[int, int]
    failing: list[str]
    rate: int


@dataclass
class KillLog:
    kills: int = 0
    in_flight_at_kill: list[int] = field(default_factory=list)
    transferred_unsettled_at_kill: list[int] = field(default_factory=list)
    restarts: int = 0
    seconds_to_finish: float = 0.0
    finished: bool = False


def make_world(creators: int, *, seed: int) -> PayoutWorld:
    """`creators` eligible creators with assorted balances, about 10% refused by the provider,
    and their batch (approved if it waits for approval)."""
    from django.conf import settings

    from bench.payouts_data import make_eligible_creators
    from creators.payouts.services import planning
    from wallet.selectors import diamond_balance

    rng = random.Random(seed)
    amounts = [rng.randint(2_000, 40_000) for _ in range(creators)]
    made = make_eligible_creators(creators, diamonds=amounts)
    failing = [d for i, d in enumerate(made.destinations) if i % 10 == 3]
    # The diamonds were credited just now: plan the batch as of the day they clear the hold.
    after_hold = timezone.now() + datetime.timedelta(days=settings.EARNINGS_HOLD_DAYS, seconds=1)
    creation = planning.create_payout_batch(period=f"drill-{made.tag}", as_of=after_hold)
    batch = creation.batch
    if batch.status == batch.Status.AWAITING_APPROVAL:
        from wallet.models import User

        # A superuser holds the approval permission the service checks.
        staff = User.objects.create_superuser(f"drill-staff-{made.tag}@drill.local", None)
        planning.approve_payout_batch(batch_id=batch.pk, staff=staff, reason="drill")
    user_ids = [c.user_id for c in made.creators]
    return PayoutWorld(
        batch_id=batch.pk,
        creator_user_ids=user_ids,
        start_balances={uid: diamond_balance(user_id=uid) for uid in user_ids},
        failing=failing,
        rate=settings.DIAMOND_VALUE_MILLICENTS,
    )


def worker_env(world: PayoutWorld, queue: str, **extra: str) -> dict[str, str]:
    return process_env(
        CELERY_QUEUE=queue,
        LOCAL_PAYOUT_DELAY_MS=str(DELAY_MS),
        LOCAL_PAYOUT_FAIL_DESTINATIONS=",".join(world.failing),
        PAYOUT_LEASE_SECONDS=str(LEASE_SECONDS),
        # Small chunks and two provider calls at once: a chunk takes well under a lease, and a
        # worker is still mid-batch (claims committed, transfers under way) when it is killed.
        PAYOUT_CLAIM_CHUNK=str(CLAIM_CHUNK),
        PAYOUT_PROVIDER_CONCURRENCY=str(PROVIDER_CONCURRENCY),
        LOG_LEVEL="WARNING",
        **extra,
    )


@dataclass(frozen=True)
class Snapshot:
    claims: int  # every claim of a payout by a worker, ever (sum of provider_calls)
    in_flight: int  # in flight under a live claim, i.e. being driven right now
    transferred: int  # of those, how many the provider has already paid or refused


def _snapshot(batch_id: int) -> Snapshot:
    from django.db.models import Sum
    from django.utils import timezone

    from creators.models import LocalTransfer, Payout

    rows = Payout.objects.filter(batch_id=batch_id)
    claims = rows.aggregate(n=Sum("provider_calls"))["n"] or 0
    held = list(
        rows.filter(status=Payout.Status.IN_FLIGHT, lease_until__gt=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    transferred = LocalTransfer.objects.filter(payout_id__in=held).count()
    connection.close()
    return Snapshot(claims=int(claims), in_flight=len(held), transferred=transferred)


def _send(batch_id: int, queue: str, copies: int = 2) -> None:
    from creators.tasks import process_payout_batch

    for _ in range(copies):
        process_payout_batch.apply_async(args=[batch_id], queue=queue)


def _batch_finished(batch_id: int) -> bool:
    from creators.models import PayoutBatch

    status = PayoutBatch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
    connection.close()
    return status == PayoutBatch.Status.FINISHED


def drive_with_kills(
    world: PayoutWorld, *, kills: int, env: dict[str, str], queue: str, logs: Path, seed: int
) -> KillLog:
    """Start a worker, wait until it is busy, SIGKILL it at a random moment; `kills` times.
    Then run one worker until the batch is finished (re-sending the work every second)."""
    rng = random.Random(seed)
    log = KillLog()
    cmd = celery(
        "worker", "-l", "warning", "--concurrency", "2", "-Q", queue, "--without-gossip", "--without-mingle"
    )
    for n in range(kills):
        if _batch_finished(world.batch_id):
            break
        before = _snapshot(world.batch_id)
        worker = start(cmd, env=env, log=logs / f"payout-worker-{n}.log")
        log.restarts += 1
        try:
            _send(world.batch_id, queue)
            deadline = time.monotonic() + 60
            # Busy: this worker has claimed a payout.
            while time.monotonic() < deadline and _snapshot(world.batch_id).claims == before.claims:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.5))
            at_kill = _snapshot(world.batch_id)
        finally:
            stop(worker, sig=signal.SIGKILL)
        log.kills += 1
        log.in_flight_at_kill.append(at_kill.in_flight)
        log.transferred_unsettled_at_kill.append(at_kill.transferred)
    t0 = time.monotonic()
    worker = start(cmd, env=env, log=logs / "payout-worker-final.log")
    log.restarts += 1
    try:
        while time.monotonic() - t0 < FINISH_TIMEOUT:
            if _batch_finished(world.batch_id):
                log.finished = True
                break
            _send(world.batch_id, queue, copies=1)  # what the beat's drive task does, faster
            time.sleep(1.0)
    finally:
        stop(worker)
    log.seconds_to_finish = time.monotonic() - t0
    return log


@dataclass
class Verdict:
    payouts: int = 0
    paid: int = 0
    failed_returned: int = 0
    not_ended: int = 0
    paid_twice: int = 0
    cash_paid_cents: int = 0
    cash_expected_cents: int = 0
    problems: list[str] = field(default_factory=list)


def verify(world: PayoutWorld) -> Verdict:
    """Check the batch against the provider's records and the ledger."""
    from creators.models import LocalTransfer, Payout
    from wallet.earnings import diamonds_to_cents
    from wallet.models import Account, Entry, Transaction, Unit
    from wallet.selectors import diamond_balance

    verdict = Verdict()
    payouts = list(Payout.objects.filter(batch_id=world.batch_id).select_related("creator"))
    verdict.payouts = len(payouts)
    transfers = list(LocalTransfer.objects.filter(payout_id__in=[p.pk for p in payouts]))
    paid_by_payout = Counter(t.payout_id for t in transfers if t.status == LocalTransfer.Status.PAID)
    keys = set(
        Transaction.objects.filter(reference__in=[f"payout:{p.pk}" for p in payouts]).values_list(
            "idempotency_key", flat=True
        )
    )
    paid_out_account = Account.objects.get(kind=Account.Kind.PAID_OUT, unit=Unit.DIAMOND, owner=None)
    settled_diamonds = sum(
        Entry.objects.filter(
            account=paid_out_account, transaction__reference__in=[f"payout:{p.pk}" for p in payouts]
        ).values_list("amount", flat=True)
    )
    paid_diamonds = 0
    for p in payouts:
        key = p.provider_key
        moved = p.diamonds if p.status == Payout.Status.PAID else 0
        if p.status == Payout.Status.PAID:
            verdict.paid += 1
            paid_diamonds += p.diamonds
            verdict.cash_expected_cents += diamonds_to_cents(p.diamonds, world.rate)
            if paid_by_payout[p.pk] != 1:
                verdict.problems.append(
                    f"payout {p.pk} is paid but has {paid_by_payout[p.pk]} paid transfers"
                )
            if {f"{key}-start", f"{key}-settle"} - keys or f"{key}-return" in keys:
                verdict.problems.append(f"payout {p.pk} is paid but its ledger keys are {sorted(keys)}")
        elif p.status == Payout.Status.FAILED:
            verdict.failed_returned += 1
            if paid_by_payout[p.pk]:
                verdict.problems.append(f"payout {p.pk} failed but the provider paid it")
            if {f"{key}-start", f"{key}-return"} - keys or f"{key}-settle" in keys:
                verdict.problems.append(f"payout {p.pk} failed but was not returned exactly once")
        else:
            verdict.not_ended += 1
        verdict.paid_twice += max(0, paid_by_payout[p.pk] - 1)
        balance = diamond_balance(user_id=p.creator.user_id)
        expected = world.start_balances[p.creator.user_id] - moved
        if balance != expected:
            verdict.problems.append(f"creator {p.creator_id} holds {balance} diamonds, expected {expected}")
    per_creator = Counter(p.creator_id for p in payouts)
    verdict.paid_twice += sum(n - 1 for n in per_creator.values() if n > 1)
    verdict.cash_paid_cents = sum(t.amount_cents for t in transfers if t.status == LocalTransfer.Status.PAID)
    if verdict.cash_paid_cents != verdict.cash_expected_cents:
        verdict.problems.append(
            f"cash paid {verdict.cash_paid_cents} cents, diamonds debited are worth {verdict.cash_expected_cents}"
        )
    if settled_diamonds != paid_diamonds:
        verdict.problems.append(f"{settled_diamonds} diamonds settled to paid-out for {paid_diamonds} paid")
    if len(payouts) != len(world.creator_user_ids):
        verdict.problems.append(f"{len(payouts)} payouts for {len(world.creator_user_ids)} eligible creators")
    return verdict


def run(small: bool) -> Report:
    report = Report("payout workers killed with SIGKILL mid-batch")
    creators, kills = (30, 5) if small else (100, 20)
    seed = random.randrange(1_000_000)
    queue = f"drills-payout-{uuid.uuid4().hex[:6]}"
    logs = BASE_DIR / "var" / "drills"
    logs.mkdir(parents=True, exist_ok=True)
    world = make_world(creators, seed=seed)
    connection.close()
    log = drive_with_kills(
        world, kills=kills, env=worker_env(world, queue), queue=queue, logs=logs, seed=seed
    )
    verdict = verify(world)
    report.did.append(
        f"{creators} creators ({len(world.failing)} refused by the provider) in one batch; a 2-process worker "
        f"SIGKILLed {log.kills} times at random moments (seed {seed}), restarted {log.restarts} times"
    )
    report.found.append(
        f"at the kills: payouts in flight {log.in_flight_at_kill}, of which already transferred "
        f"{log.transferred_unsettled_at_kill}; batch finished {log.seconds_to_finish:.1f} s after the last kill"
    )
    report.found.append(
        f"{verdict.paid} paid, {verdict.failed_returned} failed and returned, {verdict.not_ended} not ended; "
        f"cash paid {verdict.cash_paid_cents} cents = diamonds debited worth {verdict.cash_expected_cents} cents"
    )
    report.lost = verdict.not_ended
    report.doubled = verdict.paid_twice
    report.problems += verdict.problems[:10]
    if not log.finished:
        report.problems.append("the batch did not finish after the last kill")
    if log.kills < kills:
        report.problems.append(f"only {log.kills} of {kills} kills happened before the batch finished")
    if not any(log.in_flight_at_kill):
        report.problems.append("no kill landed while a payout was in flight: the drill proved little")
    check_ledger(report)
    return report
