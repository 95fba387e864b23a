"""Staff actions on wallet rows, each audited in the same database transaction as its change:
freezing and unfreezing wallets, refunding a purchase, resolving a reconciliation issue."""

from __future__ import annotations

from django.db import transaction

from wallet import errors, services
from wallet.models import Account, PurchaseRefund, ReconciliationIssue, Transaction, User, WebhookEvent
from wallet.moderation import audit
from wallet.purchases import receivables
from wallet.purchases.locks import purchase_for_update
from wallet.purchases.refunds import refund_purchase
from wallet.purchases.webhooks import replay_webhook_event

FREEZE_FIELDS = ("frozen", "frozen_reason")
REFUND_FIELDS = ("status", "refunded_cents", "refunded_coins")
ISSUE_FIELDS = ("resolved", "resolved_note")
EVENT_FIELDS = ("status", "outcome", "attempts", "last_error")
# Replaying may credit a purchase, so viewing the inbox is not enough.
REPLAY_PERMISSION = "wallet.change_webhookevent"


def _wallet_for_update(account_id: int) -> Account:
    account = (
        Account.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=account_id).first()
    )
    if account is None:
        raise errors.NotFound(errors.WALLET_NOT_FOUND)
    if account.kind not in Account.OWNED_KINDS:
        raise errors.InvalidRequest(errors.WALLET_NOT_FREEZABLE)
    return account


def freeze_wallet(*, account_id: int, staff: User, reason: str) -> Account:
    """Freeze a viewer's wallet (or a creator's diamonds): nothing can be debited from it until
    unfrozen. Credits still arrive."""
    audit.require_permission(staff, "wallet.freeze_wallet")
    reason = audit.require_reason(reason)
    with transaction.atomic():
        account = _wallet_for_update(account_id)
        if account.frozen:
            raise errors.WrongState(errors.WALLET_ALREADY_FROZEN)
        before = audit.snapshot(account, FREEZE_FIELDS)
        services.set_frozen(account=account, frozen=True, reason=reason[:255])
        audit.record(
            actor=staff,
            action="wallet.freeze",
            target=account,
            reason=reason,
            before=before,
            after=audit.snapshot(account, FREEZE_FIELDS),
        )
    return account


def unfreeze_wallet(*, account_id: int, staff: User, reason: str) -> Account:
    """Unfreeze a wallet; one that still owes coins after a refund or chargeback stays frozen."""
    audit.require_permission(staff, "wallet.freeze_wallet")
    reason = audit.require_reason(reason)
    with transaction.atomic():
        account = _wallet_for_update(account_id)
        if not account.frozen:
            raise errors.WrongState(errors.WALLET_NOT_FROZEN)
        if account.kind == Account.Kind.USER_COINS and account.owner_id is not None:
            owed = receivables.outstanding_coins(user_id=account.owner_id)
            if owed > 0:
                raise errors.WrongState(errors.WALLET_OWES_COINS.format(coins=owed))
        before = audit.snapshot(account, FREEZE_FIELDS)
        services.set_frozen(account=account, frozen=False, reason="")
        audit.record(
            actor=staff,
            action="wallet.unfreeze",
            target=account,
            reason=reason,
            before=before,
            after=audit.snapshot(account, FREEZE_FIELDS),
        )
    return account


def refund_purchase_by_staff(*, purchase_id: int, staff: User, reason: str) -> PurchaseRefund:
    """`wallet.purchases.refunds.refund_purchase`, audited with the clawback's ledger transaction.

    Its Stripe refund is idempotent (`refund-<purchase id>`), so if the audit row cannot be written
    the whole refund rolls back and a retry asks Stripe for the same refund."""
    audit.require_permission(staff, "wallet.refund_purchase")
    reason = audit.require_reason(reason)
    with transaction.atomic():
        locked = purchase_for_update(purchase_id=purchase_id)
        before = audit.snapshot(locked, REFUND_FIELDS) if locked is not None else {}
        refund = refund_purchase(purchase_id=purchase_id, staff_user=staff, reason=reason)
        purchase = refund.purchase
        clawback_id = (
            Transaction.objects.filter(
                idempotency_key=f"refund-clawback-{purchase.pk}-{purchase.refunded_coins}"
            )
            .values_list("id", flat=True)
            .first()
        )
        audit.record(
            actor=staff,
            action="purchase.refund",
            target=purchase,
            reason=reason,
            before=before,
            after={**audit.snapshot(purchase, REFUND_FIELDS), "stripe_refund_id": refund.stripe_refund_id},
            transaction_id=clawback_id,
        )
    return refund


def resolve_reconciliation_issue(*, issue_id: int, staff: User, reason: str) -> ReconciliationIssue:
    audit.require_permission(staff, "wallet.resolve_reconciliation_issue")
    reason = audit.require_reason(reason)
    with transaction.atomic():
        issue = ReconciliationIssue.objects.select_for_update().filter(pk=issue_id).first()
        if issue is None:
            raise errors.NotFound(errors.ISSUE_NOT_FOUND)
        if issue.resolved:
            raise errors.WrongState(errors.ISSUE_ALREADY_RESOLVED)
        before = audit.snapshot(issue, ISSUE_FIELDS)
        issue.resolved = True
        issue.resolved_note = reason[:500]
        issue.save(update_fields=["resolved", "resolved_note"])
        audit.record(
            actor=staff,
            action="reconciliation_issue.resolve",
            target=issue,
            reason=reason,
            before=before,
            after=audit.snapshot(issue, ISSUE_FIELDS),
        )
    return issue


def replay_webhook_event_by_staff(*, event_id: int, staff: User, note: str = "") -> WebhookEvent:
    """Staff replay of a stored Stripe event, audited. Processing commits on its own (it may
    credit a purchase), so the audit row follows it; a replay that fails again is an error."""
    if not staff.has_perm(REPLAY_PERMISSION):
        raise errors.NotAllowed(errors.REPLAY_NOT_ALLOWED)
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise errors.NotFound(errors.WEBHOOK_EVENT_NOT_FOUND)
    before = audit.snapshot(event, EVENT_FIELDS)
    event = replay_webhook_event(event_id=event_id)
    audit.record(
        actor=staff,
        action="webhook_event.replay",
        target=event,
        reason=note.strip(),
        before=before,
        after=audit.snapshot(event, EVENT_FIELDS),
    )
    if event.status == WebhookEvent.Status.FAILED:
        raise errors.WrongState(f"failed again: {event.last_error}"[:500])
    return event
