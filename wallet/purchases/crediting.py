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

from django.db import transaction
from django.utils import timezone

from wallet import errors, services, stripe_gateway
from wallet.models import CoinPurchase, ReconciliationIssue, ReconciliationRun
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
        return settle_locked(purchase, intent, source=source, run=run)


def apply_payment_intent_from_stripe(*, payment_intent_id: str, source: str) -> Outcome:
    """A webhook's PaymentIntent event: apply what Stripe says about the PaymentIntent now, never
    the event's body (a body signed with a leaked or old secret could claim anything).

    A PaymentIntent already credited to its purchase is settled without asking Stripe, so
    repeated and late events stay cheap. Raises PaymentProviderUnavailable when Stripe cannot
    be reached (the inbox retries the event)."""
    if CoinPurchase.objects.filter(
        stripe_payment_intent_id=payment_intent_id, credited_at__isnull=False
    ).exists():
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


def _credit(purchase: CoinPurchase, intent: PaymentIntentInfo, *, source: str) -> None:
    posted = services.issue_coins(
        user=purchase.user,
        coins=purchase.coins,
        idempotency_key=f"purchase-{purchase.pk}",
        reference=f"purchase:{purchase.pk}",
        memo=f"Bought {purchase.coins:,} coins",
    )
    purchase.status = CoinPurchase.Status.PAID
    purchase.credited_at = timezone.now()
    purchase.credit_source = source[:20]
    purchase.credit_transaction_id = posted.id
    purchase.failure_code = ""
    purchase.failure_message = ""
    if intent.charge_id and not purchase.stripe_charge_id:
        purchase.stripe_charge_id = intent.charge_id
    purchase.save()
    logger.info(
        "purchase credited",
        extra={
            "purchase_id": purchase.pk,
            "coins": purchase.coins,
            "source": source,
            "replayed": not posted.created,
        },
    )
    # Refunds or chargebacks that arrived before the payment was confirmed to us apply now.
    refunds.apply_early_reversals(purchase)
    receivables.cover_receivables(
        user_id=purchase.user_id, idempotency_key=f"receivable-cover-purchase-{purchase.pk}"
    )
