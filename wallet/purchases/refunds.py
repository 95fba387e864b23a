"""Refunds (a staff action, and `charge.refunded`) and chargebacks (`charge.dispute.*`).

Each takes coins back exactly once, whatever the order or number of deliveries:
- refunds are cumulative at Stripe (`charge.amount_refunded`), so we keep the highest total
  seen and take back only the coins not yet taken for it (ledger key per total);
- a chargeback is a `PurchaseDispute` row: its coins are taken once when it opens (or is
  lost first) and returned once if it is won; a `created` after a `closed` changes nothing.
Events that arrive before the purchase is credited are recorded and applied at the credit.
A dispute that changes status (`charge.dispute.updated`) is recorded and moves coins only when
it says won or lost; `funds_withdrawn` takes the coins as a lost dispute would (once, whatever
else arrives), `funds_reinstated` returns them as a won one. A refund Stripe reports failed
(re-read from Stripe, never taken from the event) gives its coins back once (`RefundFailure`)
and gives the creators back what its earnings reversals took.
"""

from __future__ import annotations

import dataclasses
import logging

from django.db import transaction
from django.utils import timezone

from wallet import errors, stripe_gateway
from wallet.models import (
    CoinPurchase,
    CoinReceivable,
    PurchaseDispute,
    PurchaseRefund,
    ReconciliationIssue,
    RefundFailure,
    Transaction,
    User,
)
from wallet.purchases import chargebacks, receivables
from wallet.purchases.issues import record_issue
from wallet.purchases.locks import (
    purchase_by_charge_for_update,
    purchase_by_payment_intent_for_update,
    purchase_for_update,
)
from wallet.stripe_gateway import ChargeInfo, DisputeInfo, create_refund

logger = logging.getLogger(__name__)

REFUNDABLE_STATUSES = (CoinPurchase.Status.PAID, CoinPurchase.Status.PARTIALLY_REFUNDED)
WON_STATUSES = ("won", "warning_closed")


def _purchase_for_update(*, payment_intent_id: str | None, charge_id: str | None) -> CoinPurchase | None:
    purchase = None
    if payment_intent_id:
        purchase = purchase_by_payment_intent_for_update(payment_intent_id=payment_intent_id)
    if purchase is None and charge_id:
        purchase = purchase_by_charge_for_update(charge_id=charge_id)
    return purchase


def _coins_for_cents(purchase: CoinPurchase, cents: int) -> int:
    """The coins bought with `cents` of this purchase, rounded up (a full refund is every coin)."""
    return min(purchase.coins, -(-purchase.coins * cents // purchase.amount_cents))


def _disputed_coins(purchase: CoinPurchase, *, excluding: PurchaseDispute | None = None) -> int:
    rows = purchase.disputes.filter(clawed_back_at__isnull=False, reversed_at__isnull=True)
    if excluding is not None:
        rows = rows.exclude(pk=excluding.pk)
    return sum(rows.values_list("coins", flat=True))


def _take_refunded_coins(purchase: CoinPurchase) -> int:
    """Bring the coins taken for refunds up to the share of `purchase.refunded_cents`."""
    if not purchase.is_credited:
        return 0
    target = min(
        _coins_for_cents(purchase, purchase.refunded_cents), purchase.coins - _disputed_coins(purchase)
    )
    delta = target - purchase.refunded_coins
    if delta <= 0:
        return 0
    receivables.claw_back(
        purchase=purchase,
        coins=delta,
        kind=Transaction.Kind.REFUND,
        source=CoinReceivable.Source.REFUND,
        idempotency_key=f"refund-clawback-{purchase.pk}-{target}",
        memo=f"Refund of purchase #{purchase.pk}",
    )
    purchase.refunded_coins = target
    chargebacks.reverse_funded_earnings(purchase=purchase, event_key=f"refund-{purchase.pk}-{target}")
    return delta


def _refresh_status(purchase: CoinPurchase) -> None:
    if not purchase.is_credited:
        return
    statuses = set(purchase.disputes.filter(clawed_back_at__isnull=False).values_list("status", flat=True))
    if PurchaseDispute.Status.LOST in statuses:
        purchase.status = CoinPurchase.Status.DISPUTE_LOST
    elif PurchaseDispute.Status.OPEN in statuses:
        purchase.status = CoinPurchase.Status.DISPUTED
    elif purchase.refunded_cents >= purchase.amount_cents:
        purchase.status = CoinPurchase.Status.REFUNDED
    elif purchase.refunded_cents > 0:
        purchase.status = CoinPurchase.Status.PARTIALLY_REFUNDED
    else:
        purchase.status = CoinPurchase.Status.PAID


# ---------------------------------------------------------------- refunds


def refund_purchase(*, purchase_id: int, staff_user: User, reason: str) -> PurchaseRefund:
    """Refund what is left of a paid purchase at Stripe and take its coins back.

    Stripe idempotency key `refund-<purchase id>`; one staff refund per purchase. Coins
    already spent become a receivable and the wallet is frozen until it is covered."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.InvalidRequest(errors.REFUND_REASON_REQUIRED)
    with transaction.atomic():
        purchase = purchase_for_update(purchase_id=purchase_id)
        if purchase is None:
            raise errors.NotFound(errors.PURCHASE_NOT_FOUND)
        already = PurchaseRefund.objects.filter(purchase=purchase).exists()
        amount = purchase.amount_cents - purchase.refunded_cents
        if (
            purchase.status not in REFUNDABLE_STATUSES
            or already
            or amount <= 0
            or not purchase.stripe_payment_intent_id
        ):
            raise errors.WrongState(errors.PURCHASE_NOT_REFUNDABLE, extra={"status": purchase.status})
        refund = create_refund(
            payment_intent_id=purchase.stripe_payment_intent_id,
            amount=amount,
            idempotency_key=f"refund-{purchase.pk}",
        )
        record = PurchaseRefund.objects.create(
            purchase=purchase,
            amount_cents=amount,
            reason=reason[:500],
            requested_by=staff_user,
            stripe_refund_id=refund.id,
        )
        purchase.refunded_cents += amount
        if refund.charge_id and not purchase.stripe_charge_id:
            purchase.stripe_charge_id = refund.charge_id
        _take_refunded_coins(purchase)
        _refresh_status(purchase)
        purchase.save()
    logger.info("purchase refunded by staff", extra={"purchase_id": purchase_id, "amount": amount})
    return record


def apply_refund_failed(*, refund_id: str, source: str) -> str:
    """`charge.refund.updated` / `refund.failed`: when Stripe says the refund failed (the money
    never reached the card), give back the coins taken for it, once per refund."""
    try:
        refund = stripe_gateway.retrieve_refund(refund_id)
    except errors.StripeObjectNotFound:
        record_issue(kind=ReconciliationIssue.Kind.UNKNOWN_CHARGE, source=source, stripe_object_id=refund_id)
        return "unknown_refund"
    if refund.status != "failed":
        return "no_change"
    with transaction.atomic():
        purchase = _purchase_for_update(
            payment_intent_id=refund.payment_intent_id, charge_id=refund.charge_id
        )
        if purchase is None:
            record_issue(
                kind=ReconciliationIssue.Kind.UNKNOWN_CHARGE, source=source, stripe_object_id=refund.id
            )
            return "unknown_charge"
        if RefundFailure.objects.filter(stripe_refund_id=refund.id).exists():
            return "no_change"
        # Only what we counted as refunded comes back (a failure seen before its refund returns nothing).
        cents = min(refund.amount, purchase.refunded_cents)
        purchase.refunded_cents -= cents
        coins = _return_refunded_coins(purchase, idempotency_key=f"refund-failed-{refund.id}")
        # The creators the refund's reversals took diamonds from are owed them again.
        chargebacks.restore_reversed_earnings(purchase=purchase, event_key=f"refund-failed-{refund.id}")
        RefundFailure.objects.create(
            purchase=purchase, stripe_refund_id=refund.id, amount_cents=cents, coins=coins
        )
        _refresh_status(purchase)
        purchase.save()
        return "refund_failed_coins_returned"


def _return_refunded_coins(purchase: CoinPurchase, *, idempotency_key: str) -> int:
    """Bring the coins taken for refunds down to the share of `purchase.refunded_cents`."""
    target = min(
        _coins_for_cents(purchase, purchase.refunded_cents), purchase.coins - _disputed_coins(purchase)
    )
    delta = purchase.refunded_coins - target
    if delta <= 0:
        return 0
    receivables.reverse_refund_clawback(purchase=purchase, coins=delta, idempotency_key=idempotency_key)
    purchase.refunded_coins = target
    return delta


def apply_charge_refunded(*, charge: ChargeInfo, source: str) -> str:
    """`charge.refunded`: take back the coins for the refunded total, once."""
    with transaction.atomic():
        purchase = _purchase_for_update(payment_intent_id=charge.payment_intent_id, charge_id=charge.id)
        if purchase is None:
            record_issue(
                kind=ReconciliationIssue.Kind.UNKNOWN_CHARGE, source=source, stripe_object_id=charge.id
            )
            return "unknown_charge"
        if not _charge_matches(purchase, charge, source=source):
            return "mismatch"
        cents = min(charge.amount_refunded, purchase.amount_cents)
        if cents <= purchase.refunded_cents:
            return "no_change"
        purchase.refunded_cents = cents
        if not purchase.stripe_charge_id:
            purchase.stripe_charge_id = charge.id
        _take_refunded_coins(purchase)
        _refresh_status(purchase)
        purchase.save()
        return "refund_applied"


def _charge_matches(purchase: CoinPurchase, charge: ChargeInfo | DisputeInfo, *, source: str) -> bool:
    checks: list[tuple[str, str, object, object]] = []
    if charge.currency != purchase.currency.lower():
        checks.append(
            (ReconciliationIssue.Kind.CURRENCY_MISMATCH, "currency", purchase.currency, charge.currency)
        )
    if isinstance(charge, ChargeInfo) and charge.amount != purchase.amount_cents:
        checks.append(
            (ReconciliationIssue.Kind.AMOUNT_MISMATCH, "amount", purchase.amount_cents, charge.amount)
        )
    if isinstance(charge, DisputeInfo) and not 0 < charge.amount <= purchase.amount_cents:
        checks.append(
            (ReconciliationIssue.Kind.AMOUNT_MISMATCH, "amount", purchase.amount_cents, charge.amount)
        )
    charge_id = charge.id if isinstance(charge, ChargeInfo) else charge.charge_id
    if charge_id and purchase.stripe_charge_id and charge_id != purchase.stripe_charge_id:
        checks.append(
            (ReconciliationIssue.Kind.METADATA_MISMATCH, "charge", purchase.stripe_charge_id, charge_id)
        )
    for kind, field, expected, found in checks:
        record_issue(
            kind=kind,
            source=source,
            stripe_object_id=charge.id,
            purchase=purchase,
            field=field,
            expected=expected,
            found=found,
        )
    return not checks


# ---------------------------------------------------------------- chargebacks


def _dispute_for_update(*, dispute: DisputeInfo, source: str) -> tuple[CoinPurchase, PurchaseDispute] | str:
    """The purchase and dispute row of a dispute event, locked (the row is created on first
    sight), or the outcome to record when the event does not match our purchase."""
    purchase = _purchase_for_update(payment_intent_id=dispute.payment_intent_id, charge_id=dispute.charge_id)
    if purchase is None:
        record_issue(
            kind=ReconciliationIssue.Kind.UNKNOWN_CHARGE,
            source=source,
            stripe_object_id=dispute.charge_id or dispute.id,
        )
        return "unknown_charge"
    if not _charge_matches(purchase, dispute, source=source):
        return "mismatch"
    row = PurchaseDispute.objects.select_for_update().filter(stripe_dispute_id=dispute.id).first()
    if row is None:
        row = _open_dispute(purchase=purchase, dispute=dispute)
    elif row.purchase_id != purchase.pk:
        record_issue(
            kind=ReconciliationIssue.Kind.METADATA_MISMATCH,
            source=source,
            stripe_object_id=dispute.id,
            purchase=purchase,
            field="dispute_purchase",
            expected=row.purchase_id,
            found=purchase.pk,
        )
        return "mismatch"
    elif row.status == PurchaseDispute.Status.OPEN and purchase.is_credited:
        # Coins spent since the last event (an inquiry takes none) are held from now on too.
        chargebacks.hold_funded_earnings(purchase=purchase, dispute=row)
    return purchase, row


def _open_dispute(*, purchase: CoinPurchase, dispute: DisputeInfo) -> PurchaseDispute:
    """Record a dispute seen for the first time, whichever event it arrives in, and hold the
    creator earnings its coins funded so no payout batch pays them while it is open."""
    row = PurchaseDispute.objects.create(
        purchase=purchase,
        stripe_dispute_id=dispute.id,
        amount_cents=dispute.amount,
        stripe_status=dispute.status,
    )
    if purchase.is_credited:
        chargebacks.hold_funded_earnings(purchase=purchase, dispute=row)
    return row


def apply_dispute_event(*, dispute: DisputeInfo, closed: bool, source: str) -> str:
    """`charge.dispute.created` (closed=False) or `charge.dispute.closed` (won or lost)."""
    with transaction.atomic():
        found = _dispute_for_update(dispute=dispute, source=source)
        if isinstance(found, str):
            return found
        purchase, row = found
        if row.status != PurchaseDispute.Status.OPEN:
            return "no_change"  # closed is final: a late `created` or a repeated `closed` does nothing
        outcome = "no_change"
        if not closed:
            row.stripe_status = dispute.status
            if _claw_dispute(purchase, row):
                outcome = "dispute_clawed_back"
        elif dispute.status in WON_STATUSES:
            row.status = PurchaseDispute.Status.WON
            row.stripe_status = dispute.status
            if row.clawed_back_at is not None and row.reversed_at is None and row.coins > 0:
                receivables.reverse_dispute_clawback(dispute=row, purchase=purchase)
                row.reversed_at = timezone.now()
            outcome = "dispute_won"
        elif dispute.status == "lost":
            row.status = PurchaseDispute.Status.LOST
            row.stripe_status = dispute.status
            _claw_dispute(purchase, row)
            if purchase.is_credited:
                chargebacks.reverse_funded_earnings(
                    purchase=purchase, event_key=f"dispute-{row.stripe_dispute_id}", dispute=row
                )
            outcome = "dispute_lost"
        else:
            row.stripe_status = dispute.status
        row.save()
        _refresh_status(purchase)
        purchase.save()
        return outcome


def _closed_already(dispute: DisputeInfo) -> bool:
    # Closed is final: a repeated or late "won" needs no call to Stripe.
    return (
        PurchaseDispute.objects.filter(stripe_dispute_id=dispute.id)
        .exclude(status=PurchaseDispute.Status.OPEN)
        .exists()
    )


def _won_at_stripe(dispute: DisputeInfo, *, source: str) -> DisputeInfo | None:
    """A dispute event that would give coins back: what Stripe says about the dispute now (the
    body of a signed event may be forged), or None when Stripe does not know it."""
    try:
        return stripe_gateway.retrieve_dispute(dispute.id)
    except errors.StripeObjectNotFound:
        record_issue(
            kind=ReconciliationIssue.Kind.UNKNOWN_CHARGE,
            source=source,
            stripe_object_id=dispute.id,
            field="dispute",
            expected="won",
            found="404",
        )
        return None


def apply_dispute_closed(*, dispute: DisputeInfo, source: str) -> str:
    """`charge.dispute.closed`: a close that says won is confirmed with Stripe before coins go back."""
    if dispute.status in WON_STATUSES:
        if _closed_already(dispute):
            return "no_change"
        confirmed = _won_at_stripe(dispute, source=source)
        if confirmed is None:
            return "unknown_dispute"
        dispute = confirmed
    return apply_dispute_event(dispute=dispute, closed=True, source=source)


def apply_dispute_updated(*, dispute: DisputeInfo, source: str) -> str:
    """`charge.dispute.updated`: a status that says won or lost closes the dispute as
    `charge.dispute.closed` would; any other change is recorded and moves nothing."""
    if dispute.status in WON_STATUSES or dispute.status == "lost":
        return apply_dispute_closed(dispute=dispute, source=source)
    with transaction.atomic():
        found = _dispute_for_update(dispute=dispute, source=source)
        if isinstance(found, str):
            return found
        _, row = found
        if row.status != PurchaseDispute.Status.OPEN or row.stripe_status == dispute.status:
            return "no_change"
        row.stripe_status = dispute.status
        row.save(update_fields=["stripe_status", "updated_at"])
        return "dispute_updated"


def apply_dispute_funds_withdrawn(*, dispute: DisputeInfo, source: str) -> str:
    """`charge.dispute.funds_withdrawn`: Stripe took the money, so the coins come back as on an
    opened chargeback (what `created` does), once: the dispute's clawback key makes a later
    `closed` (lost) take nothing more, and a closed dispute is final."""
    if dispute.status.startswith("warning"):
        # The money is gone whatever the status says, so an inquiry status does not spare the coins.
        dispute = dataclasses.replace(dispute, status="needs_response")
    return apply_dispute_event(dispute=dispute, closed=False, source=source)


def apply_dispute_funds_reinstated(*, dispute: DisputeInfo, source: str) -> str:
    """`charge.dispute.funds_reinstated`: Stripe gave the money back, as on a won dispute (once
    Stripe confirms the dispute went our way)."""
    if _closed_already(dispute):
        return "no_change"
    confirmed = _won_at_stripe(dispute, source=source)
    if confirmed is None:
        return "unknown_dispute"
    if confirmed.status not in WON_STATUSES:
        return "no_change"
    return apply_dispute_event(
        dispute=dataclasses.replace(confirmed, status="won"), closed=True, source=source
    )


def _claw_dispute(purchase: CoinPurchase, row: PurchaseDispute) -> bool:
    """Take the disputed coins back once; an inquiry (`warning_*`) takes nothing."""
    if row.clawed_back_at is not None or not purchase.is_credited or row.stripe_status.startswith("warning"):
        return False
    room = purchase.coins - purchase.refunded_coins - _disputed_coins(purchase, excluding=row)
    coins = min(_coins_for_cents(purchase, row.amount_cents), room)
    row.clawed_back_at = timezone.now()
    row.coins = max(coins, 0)
    if coins > 0:
        receivables.claw_back(
            purchase=purchase,
            coins=coins,
            kind=Transaction.Kind.DISPUTE,
            source=CoinReceivable.Source.DISPUTE,
            idempotency_key=f"dispute-{row.stripe_dispute_id}-clawback",
            memo=f"Chargeback on purchase #{purchase.pk}",
            dispute=row,
        )
    row.save()
    return coins > 0


def apply_early_reversals(purchase: CoinPurchase) -> None:
    """At the credit: apply refunds and chargebacks that were recorded before it (caller holds the lock)."""
    changed = _take_refunded_coins(purchase) > 0
    pending = purchase.disputes.select_for_update().filter(
        clawed_back_at__isnull=True, status__in=[PurchaseDispute.Status.OPEN, PurchaseDispute.Status.LOST]
    )
    for row in pending.order_by("pk"):
        changed = _claw_dispute(purchase, row) or changed
    if changed:
        _refresh_status(purchase)
        purchase.save()
