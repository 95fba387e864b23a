"""Reconciliation: catch what webhooks missed.

One run (a `ReconciliationRun` row with its counts):
1. lists `payment_intent.succeeded` events since the last run (Stripe's Events API has a
   `created` filter; localstripe has none on PaymentIntents) and applies each to its
   purchase: this credits purchases whose webhook never came, even one whose PaymentIntent
   id we never stored, and records PaymentIntents that name no purchase of ours;
   (a chunk of them per transaction, those plainly paid credited together);
2. re-fetches the PaymentIntent of every pending or processing purchase (a few retrieves at a
   time: localstripe has no `created` filter on PaymentIntents to list them by) and applies it;
3. closes what will never be paid: an open purchase older than the abandon age with no
   PaymentIntent, or whose PaymentIntent is canceled or still waiting for the card or for
   3-D Secure (that PaymentIntent is canceled at Stripe first, so it cannot succeed later).
Everything goes through `crediting.settle_locked`, so a run racing a webhook or the
checkout page credits nothing twice, and running it again changes nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wallet import errors, stripe_gateway
from wallet.models import CoinPurchase, ReconciliationIssue, ReconciliationRun
from wallet.purchases import crediting
from wallet.purchases.crediting import Outcome
from wallet.purchases.issues import record_issue
from wallet.purchases.locks import purchase_for_update
from wallet.stripe_gateway import PaymentIntentInfo

logger = logging.getLogger(__name__)

SOURCE = "reconciliation"
# From settings.py (PURCHASE_ABANDON_MINUTES, RECONCILE_FIRST_LOOKBACK_HOURS).
ABANDON_AFTER = datetime.timedelta(minutes=settings.PURCHASE_ABANDON_MINUTES)
FIRST_RUN_LOOKBACK = datetime.timedelta(hours=settings.RECONCILE_FIRST_LOOKBACK_HOURS)
# Events are listed from a little before the previous run started, so none falls between runs.
WINDOW_OVERLAP = datetime.timedelta(minutes=10)
CANCELABLE_INTENT_STATES = ("requires_payment_method", "requires_confirmation", "requires_action")
# Listed PaymentIntents applied per transaction, and open purchases' PaymentIntents retrieved per
# round, RETRIEVE_THREADS at a time.
CHUNK = 200
RETRIEVE_THREADS = 8


def _events_since(now: datetime.datetime) -> datetime.datetime:
    previous = (
        ReconciliationRun.objects.filter(status=ReconciliationRun.Status.OK, events_since__isnull=False)
        .order_by("-started_at")
        .first()
    )
    if previous is None:
        return now - FIRST_RUN_LOOKBACK
    return previous.started_at - WINDOW_OVERLAP


def run_reconciliation(
    *, events_since: datetime.datetime | None = None, abandon_after: datetime.timedelta | None = None
) -> ReconciliationRun:
    """One reconciliation pass; returns the stored run with its counts.

    Raises PaymentProviderUnavailable (after recording the run as failed) when Stripe cannot
    be reached, so the task can retry."""
    now = timezone.now()
    since = events_since or _events_since(now)
    run = ReconciliationRun.objects.create(started_at=now, events_since=since)
    counts = {Outcome.CREDITED: 0, Outcome.FAILED: 0, Outcome.ABANDONED: 0}
    try:
        events = stripe_gateway.list_events(
            type="payment_intent.succeeded", created_gte=int(since.timestamp())
        )
        intents = [stripe_gateway.payment_intent_from_object(event.data_object) for event in events]
        run.events_checked = len(intents)
        credited = set(
            CoinPurchase.objects.filter(
                stripe_payment_intent_id__in=[intent.id for intent in intents], credited_at__isnull=False
            ).values_list("stripe_payment_intent_id", flat=True)
        )
        # The common case, a credited purchase, is settled without a lock; the rest are applied
        # CHUNK at a time, each chunk in one transaction.
        missed = [intent for intent in intents if intent.id not in credited]
        for first in range(0, len(missed), CHUNK):
            chunk = missed[first : first + CHUNK]
            for outcome in crediting.apply_payment_intents(intents=chunk, source=SOURCE, run=run):
                if outcome in counts:
                    counts[outcome] += 1

        cutoff = now - (abandon_after if abandon_after is not None else ABANDON_AFTER)
        open_purchases = list(
            CoinPurchase.objects.filter(status__in=CoinPurchase.OPEN_STATUSES)
            .order_by("pk")
            .values_list("pk", "stripe_payment_intent_id", "created_at")
        )
        for first in range(0, len(open_purchases), CHUNK):
            some = open_purchases[first : first + CHUNK]
            found = _retrieve_all([intent_id for _, intent_id, _ in some if intent_id])
            for purchase_id, intent_id, created_at in some:
                run.purchases_checked += 1
                outcome = _reconcile_purchase(
                    purchase_id, intent_id, stale=created_at < cutoff, run=run, found=found
                )
                if outcome in counts:
                    counts[outcome] += 1
    except errors.PaymentProviderError as exc:
        _finish(run, counts, error=f"{type(exc).__name__}: {exc.message}")
        raise
    _finish(run, counts)
    logger.info(
        "reconciliation finished",
        extra={
            "run_id": run.pk,
            "credited": run.credited,
            "failed": run.failed,
            "abandoned": run.abandoned,
            "issues": run.issues,
        },
    )
    return run


def _finish(run: ReconciliationRun, counts: dict[Outcome, int], error: str = "") -> None:
    run.credited = counts[Outcome.CREDITED]
    run.failed = counts[Outcome.FAILED]
    run.abandoned = counts[Outcome.ABANDONED]
    run.issues = ReconciliationIssue.objects.filter(run=run).count()
    run.status = ReconciliationRun.Status.FAILED if error else ReconciliationRun.Status.OK
    run.error = error
    run.finished_at = timezone.now()
    run.save()


def _retrieve(intent_id: str) -> PaymentIntentInfo | errors.CoinSiteError:
    try:
        return stripe_gateway.retrieve_payment_intent(intent_id)
    except errors.CoinSiteError as exc:  # raised in the caller's thread, in the purchase's turn
        return exc


def _retrieve_all(intent_ids: list[str]) -> dict[str, PaymentIntentInfo | errors.CoinSiteError]:
    """Each PaymentIntent as Stripe has it now (or the error retrieving it raised), RETRIEVE_THREADS
    retrieves at a time (Stripe calls only: the threads touch no database)."""
    if len(intent_ids) < 2:
        return {intent_id: _retrieve(intent_id) for intent_id in intent_ids}
    with ThreadPoolExecutor(max_workers=RETRIEVE_THREADS) as pool:
        return dict(zip(intent_ids, pool.map(_retrieve, intent_ids), strict=True))


def _reconcile_purchase(
    purchase_id: int,
    intent_id: str | None,
    *,
    stale: bool,
    run: ReconciliationRun,
    found: Mapping[str, PaymentIntentInfo | errors.CoinSiteError],
) -> Outcome:
    if not intent_id:
        return _abandon(purchase_id, run=run) if stale else Outcome.OPEN
    try:
        retrieved = found.get(intent_id) or _retrieve(intent_id)
        if isinstance(retrieved, errors.CoinSiteError):
            raise retrieved
        intent = retrieved
    except errors.StripeObjectNotFound:
        with transaction.atomic():
            purchase = purchase_for_update(purchase_id=purchase_id)
            record_issue(
                kind=ReconciliationIssue.Kind.UNKNOWN_PAYMENT_INTENT,
                source=SOURCE,
                stripe_object_id=intent_id,
                purchase=purchase,
                field="payment_intent",
                expected=intent_id,
                found="404",
                run=run,
            )
        return Outcome.MISMATCH
    if stale and intent.status in CANCELABLE_INTENT_STATES and not intent.error_message:
        try:
            intent = stripe_gateway.cancel_payment_intent(intent.id)
        except errors.PaymentProviderError:
            # It moved on meanwhile (e.g. succeeded): apply what it is now.
            intent = stripe_gateway.retrieve_payment_intent(intent.id)
    with transaction.atomic():
        purchase = purchase_for_update(purchase_id=purchase_id)
        if purchase is None:
            return Outcome.UNKNOWN_PURCHASE
        return crediting.settle_locked(purchase, intent, source=SOURCE, run=run)


def _abandon(purchase_id: int, *, run: ReconciliationRun) -> Outcome:
    with transaction.atomic():
        purchase = purchase_for_update(purchase_id=purchase_id)
        if (
            purchase is None
            or purchase.status not in CoinPurchase.OPEN_STATUSES
            or purchase.stripe_payment_intent_id
        ):
            return Outcome.OPEN
        purchase.status = CoinPurchase.Status.ABANDONED
        purchase.save(update_fields=["status", "updated_at"])
        return Outcome.ABANDONED
