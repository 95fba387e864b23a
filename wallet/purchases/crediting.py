"""The one place a PaymentIntent's state is applied to a purchase.

The webhook, the checkout page's re-fetch and reconciliation all call `settle_locked`
while holding the purchase's row lock, so whichever arrives first credits and the others
see a credited purchase. The ledger key `purchase-<id>` is the second guard. Coins are
credited only when status, amount, currency and metadata (purchase id, buyer, and the
PaymentIntent we recorded) all match; anything else is a ReconciliationIssue.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone

from wallet import errors, services, stripe_gateway
from wallet.models import CoinPurchase, PurchaseDispute, ReconciliationIssue, ReconciliationRun
from wallet.purchases import receivables, refunds
from wallet.purchases.issues import record_issue
from wallet.purchases.locks import purchase_by_payment_intent_for_update, purchase_for_update
from wallet.stripe_gateway import PaymentIntentInfo

logger = logging.getLogger(__name__)

METADATA_PURCHASE_ID = "purchase_id"
METADATA_USER_ID = "user_id"

# PaymentIntent states that end a payment attempt without money moving.
FAILED_INTENT_STATES = ("requires_payment_method", "canceled")


class Outcome(enum.StrEnum):
    CREDITED = "credited"
    ALREADY_CREDITED = "already_credited"
    OPEN = "open"
    FAILED = "failed"
    ABANDONED = "abandoned"
    MISMATCH = "mismatch"
    NOT_OURS = "not_ours"
    UNKNOWN_PURCHASE = "unknown_purchase"
    UNKNOWN_PAYMENT_INTENT = "unknown_payment_intent"


def purchase_metadata(purchase: CoinPurchase) -> dict[str, str]:
    return {METADATA_PURCHASE_ID: str(purchase.pk), METADATA_USER_ID: str(purchase.user_id)}


def _purchase_id_in(intent: PaymentIntentInfo) -> int | None:
    raw = intent.metadata.get(METADATA_PURCHASE_ID, "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def apply_payment_intent(
    *, intent: PaymentIntentInfo, source: str, run: ReconciliationRun | None = None
) -> Outcome:
    """Find the purchase a PaymentIntent belongs to and apply its state (webhook, reconciliation)."""
    purchase_id = _purchase_id_in(intent)
    with transaction.atomic():
        purchase = purchase_by_payment_intent_for_update(payment_intent_id=intent.id)
        if purchase is None and purchase_id is not None:
            purchase = purchase_for_update(purchase_id=purchase_id)
        if purchase is None:
            return _no_purchase(intent, source=source, run=run)
        return settle_locked(purchase, intent, source=source, run=run)


def _no_purchase(intent: PaymentIntentInfo, *, source: str, run: ReconciliationRun | None) -> Outcome:
    if METADATA_PURCHASE_ID not in intent.metadata:
        return Outcome.NOT_OURS  # another integration on the same Stripe account
    record_issue(
        kind=ReconciliationIssue.Kind.UNKNOWN_PAYMENT_INTENT,
        source=source,
        stripe_object_id=intent.id,
        field="purchase_id",
        found=intent.metadata.get(METADATA_PURCHASE_ID, ""),
        run=run,
    )
    return Outcome.UNKNOWN_PURCHASE


def apply_payment_intent_from_stripe(*, payment_intent_id: str, source: str) -> Outcome:
    """A webhook's PaymentIntent event: apply what Stripe says about the PaymentIntent now, never
    the event's body (a body signed with a leaked or old secret could claim anything).

    The purchase recorded with this PaymentIntent is locked first: already credited, it is
    settled without asking Stripe, so repeated and late events stay cheap; otherwise the lock is
    held across the Stripe call. Raises PaymentProviderUnavailable when Stripe cannot be reached
    (the inbox retries the event). No savepoint of its own: inside the inbox's transaction a
    failure undoes that whole transaction, which records the failure."""
    with transaction.atomic(savepoint=False):
        purchase = purchase_by_payment_intent_for_update(payment_intent_id=payment_intent_id)
        if purchase is not None and purchase.is_credited:
            return Outcome.ALREADY_CREDITED
        try:
            intent = stripe_gateway.retrieve_payment_intent(payment_intent_id)
        except errors.StripeObjectNotFound:
            record_issue(
                kind=ReconciliationIssue.Kind.UNKNOWN_PAYMENT_INTENT,
                source=source,
                stripe_object_id=payment_intent_id,
                field="payment_intent",
                expected=payment_intent_id,
                found="404",
            )
            return Outcome.UNKNOWN_PAYMENT_INTENT
        if purchase is not None:
            return settle_locked(purchase, intent, source=source)
        return apply_payment_intent(intent=intent, source=source)


def _mismatches(purchase: CoinPurchase, intent: PaymentIntentInfo) -> list[tuple[str, str, object, object]]:
    found: list[tuple[str, str, object, object]] = []
    metadata_kind = ReconciliationIssue.Kind.METADATA_MISMATCH
    if intent.metadata.get(METADATA_PURCHASE_ID) != str(purchase.pk):
        found.append(
            (metadata_kind, "purchase_id", purchase.pk, intent.metadata.get(METADATA_PURCHASE_ID, ""))
        )
    if intent.metadata.get(METADATA_USER_ID) != str(purchase.user_id):
        found.append((metadata_kind, "user_id", purchase.user_id, intent.metadata.get(METADATA_USER_ID, "")))
    if purchase.stripe_payment_intent_id and purchase.stripe_payment_intent_id != intent.id:
        found.append((metadata_kind, "payment_intent", purchase.stripe_payment_intent_id, intent.id))
    if intent.amount != purchase.amount_cents:
        found.append(
            (ReconciliationIssue.Kind.AMOUNT_MISMATCH, "amount", purchase.amount_cents, intent.amount)
        )
    if intent.currency != purchase.currency.lower():
        found.append(
            (ReconciliationIssue.Kind.CURRENCY_MISMATCH, "currency", purchase.currency, intent.currency)
        )
    return found


def settle_locked(
    purchase: CoinPurchase, intent: PaymentIntentInfo, *, source: str, run: ReconciliationRun | None = None
) -> Outcome:
    """Apply `intent` to `purchase`, whose row lock the caller holds."""
    if purchase.is_credited:
        if intent.status == "succeeded" and intent.id != purchase.stripe_payment_intent_id:
            record_issue(
                kind=ReconciliationIssue.Kind.DUPLICATE_PAYMENT,
                source=source,
                stripe_object_id=intent.id,
                purchase=purchase,
                field="payment_intent",
                expected=purchase.stripe_payment_intent_id,
                found=intent.id,
                run=run,
            )
        return Outcome.ALREADY_CREDITED
    problems = _mismatches(purchase, intent)
    if not problems and not purchase.stripe_payment_intent_id:
        taken = (
            CoinPurchase.objects.filter(stripe_payment_intent_id=intent.id).exclude(pk=purchase.pk).first()
        )
        if taken is not None:
            problems.append(
                (ReconciliationIssue.Kind.METADATA_MISMATCH, "payment_intent", taken.pk, intent.id)
            )
    if problems:
        for kind, field, expected, found in problems:
            record_issue(
                kind=kind,
                source=source,
                stripe_object_id=intent.id,
                purchase=purchase,
                field=field,
                expected=expected,
                found=found,
                run=run,
            )
        return Outcome.MISMATCH
    purchase.stripe_payment_intent_id = intent.id
    if intent.status == "succeeded":
        _credit(purchase, intent, source=source)
        return Outcome.CREDITED
    if intent.status in FAILED_INTENT_STATES:
        if purchase.status not in CoinPurchase.OPEN_STATUSES:
            purchase.save(update_fields=["stripe_payment_intent_id", "updated_at"])
            return Outcome.FAILED if purchase.status == CoinPurchase.Status.FAILED else Outcome.ABANDONED
        if intent.status == "canceled":
            purchase.status = CoinPurchase.Status.ABANDONED
        elif intent.error_code or intent.error_message:
            purchase.status = CoinPurchase.Status.FAILED
            purchase.failure_code = intent.error_code[:100]
            purchase.failure_message = failure_message_for(intent)[:500]
        else:
            # No card was ever attached: still waiting (reconciliation abandons it in time).
            purchase.save(update_fields=["stripe_payment_intent_id", "updated_at"])
            return Outcome.OPEN
        purchase.save(
            update_fields=[
                "stripe_payment_intent_id",
                "status",
                "failure_code",
                "failure_message",
                "updated_at",
            ]
        )
        return Outcome.FAILED if purchase.status == CoinPurchase.Status.FAILED else Outcome.ABANDONED
    if purchase.status == CoinPurchase.Status.PENDING:
        purchase.status = CoinPurchase.Status.PROCESSING
    purchase.save(update_fields=["stripe_payment_intent_id", "status", "updated_at"])
    return Outcome.OPEN


def failure_message_for(intent: PaymentIntentInfo) -> str:
    if intent.error_code == "payment_intent_authentication_failure":
        return errors.CARD_AUTHENTICATION_FAILED
    return intent.error_message or errors.CARD_DECLINED


def _credit_posting(purchase: CoinPurchase) -> services.Posting:
    """The ledger transaction that credits a purchase's coins (key `purchase-<id>`), its
    accounts named by key so the posting statement looks them up itself."""
    return services.issuing_posting(
        user_id=purchase.user_id,
        coins=purchase.coins,
        idempotency_key=f"purchase-{purchase.pk}",
        reference=f"purchase:{purchase.pk}",
        memo=f"Bought {purchase.coins:,} coins",
        by_key=True,
    )


def _mark_credited(
    purchase: CoinPurchase, intent: PaymentIntentInfo, posted: services.PostedTransaction, *, source: str
) -> None:
    """The purchase's fields once its coins are credited (the caller saves them)."""
    purchase.status = CoinPurchase.Status.PAID
    purchase.credited_at = purchase.updated_at = timezone.now()
    purchase.credit_source = source[:20]
    purchase.credit_transaction_id = posted.id
    purchase.failure_code = ""
    purchase.failure_message = ""
    purchase.stripe_payment_intent_id = intent.id
    if intent.charge_id and not purchase.stripe_charge_id:
        purchase.stripe_charge_id = intent.charge_id
    logger.info(
        "purchase credited",
        extra={
            "purchase_id": purchase.pk,
            "coins": purchase.coins,
            "source": source,
            "replayed": not posted.created,
        },
    )


def _after_credit(purchases: Sequence[CoinPurchase]) -> None:
    """Refunds or chargebacks that arrived before the payment was confirmed to us apply now,
    and the coins pay what the buyer owes; one query finds the purchases with something to do."""
    todo = {
        pk: (disputed, owing)
        for pk, disputed, owing in CoinPurchase.objects.filter(pk__in=[p.pk for p in purchases])
        .annotate(
            disputed=Exists(PurchaseDispute.objects.filter(purchase_id=OuterRef("pk"))),
            owing=ExpressionWrapper(
                receivables.cover_needed(OuterRef("user_id")), output_field=BooleanField()
            ),
        )
        .values_list("pk", "disputed", "owing")
    }
    for purchase in purchases:
        disputed, owing = todo.get(purchase.pk, (True, True))
        if purchase.refunded_cents or disputed:
            refunds.apply_early_reversals(purchase)
        if owing:
            receivables.cover_receivables(
                user_id=purchase.user_id, idempotency_key=f"receivable-cover-purchase-{purchase.pk}"
            )


def _credit(purchase: CoinPurchase, intent: PaymentIntentInfo, *, source: str) -> None:
    posting = _credit_posting(purchase)
    posted = services.post_transaction(
        kind=posting.kind,
        legs=posting.legs,
        idempotency_key=posting.idempotency_key,
        reference=posting.reference,
        memo=posting.memo,
    )
    _mark_credited(purchase, intent, posted, source=source)
    purchase.save()
    _after_credit([purchase])


_CREDITED_FIELDS = [
    "status",
    "credited_at",
    "credit_source",
    "credit_transaction_id",
    "failure_code",
    "failure_message",
    "stripe_payment_intent_id",
    "stripe_charge_id",
    "updated_at",
]


def apply_payment_intents(
    *, intents: Sequence[PaymentIntentInfo], source: str, run: ReconciliationRun | None = None
) -> list[Outcome]:
    """`apply_payment_intent` for many PaymentIntents in one transaction (reconciliation's
    listed events); the outcomes in the same order.

    Every purchase is found and locked in one query. Those plainly paid (a succeeded
    PaymentIntent already recorded on an open purchase, nothing mismatching) are credited
    together: one posting statement, one update, and the early-reversal and receivable steps
    only for the purchases that have something there. Every other PaymentIntent goes through
    `settle_locked` one by one, as `apply_payment_intent` sends it."""
    if not intents:
        return []
    purchase_ids = {pid for intent in intents if (pid := _purchase_id_in(intent)) is not None}
    with transaction.atomic():
        locked = list(
            CoinPurchase.objects.select_for_update()
            .filter(Q(stripe_payment_intent_id__in=[i.id for i in intents if i.id]) | Q(pk__in=purchase_ids))
            .order_by("pk")
        )
        by_intent = {p.stripe_payment_intent_id: p for p in locked if p.stripe_payment_intent_id}
        by_pk = {p.pk: p for p in locked}
        outcomes: list[Outcome | None] = [None] * len(intents)
        plain: list[tuple[int, CoinPurchase, PaymentIntentInfo]] = []
        later: list[tuple[int, CoinPurchase, PaymentIntentInfo]] = []
        planned: set[int] = set()
        for index, intent in enumerate(intents):
            purchase = by_intent.get(intent.id)
            if purchase is None and (pid := _purchase_id_in(intent)) is not None:
                purchase = by_pk.get(pid)
            if purchase is None:
                outcomes[index] = _no_purchase(intent, source=source, run=run)
            elif purchase.pk in planned:
                later.append((index, purchase, intent))  # after its credit: a duplicate payment
            elif (
                intent.status == "succeeded"
                and not purchase.is_credited
                and purchase.stripe_payment_intent_id == intent.id
                and not _mismatches(purchase, intent)
            ):
                plain.append((index, purchase, intent))
                planned.add(purchase.pk)
            else:
                outcomes[index] = settle_locked(purchase, intent, source=source, run=run)
        _credit_together(plain, source=source)
        for index, _, _ in plain:
            outcomes[index] = Outcome.CREDITED
        for index, purchase, intent in later:
            outcomes[index] = settle_locked(purchase, intent, source=source, run=run)
    return [outcome if outcome is not None else Outcome.OPEN for outcome in outcomes]


def _credit_together(plain: list[tuple[int, CoinPurchase, PaymentIntentInfo]], *, source: str) -> None:
    if not plain:
        return
    purchases = [purchase for _, purchase, _ in plain]
    try:
        posted = services.post_transactions([_credit_posting(p) for p in purchases])
    except errors.CoinSiteError:
        # One of them cannot be posted as planned (nothing of the statement moved): credit them
        # one by one, so that one raises as it would alone.
        for _, purchase, intent in plain:
            _credit(purchase, intent, source=source)
        return
    for (_, purchase, intent), transaction_posted in zip(plain, posted, strict=True):
        _mark_credited(purchase, intent, transaction_posted, source=source)
    CoinPurchase.objects.bulk_update(purchases, _CREDITED_FIELDS)
    _after_credit(purchases)
