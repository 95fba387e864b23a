"""Stripe events that take a paid payout back: `transfer.reversed` and `payout.failed`.

Both return the creator's diamonds at most once, however often and in whatever order the
events arrive: Stripe's `amount_reversed` is cumulative, so we keep the highest amount seen
(`Payout.reversed_cents`) and the diamonds already returned for it, and post only the
difference under a key naming the cumulative amount (`payout-<id>-reversal-<cents>`).

Both re-read the transfer from Stripe and act on what Stripe says, never on the event's body.

`payout.failed` is a bank payout failing on the creator's connected account. The money then
sits in the creator's Stripe balance, so returning diamonds alone would pay twice. When the
bank payout names one of our payouts (`metadata.coinsite_payout_id`, set when the platform
creates the bank payout), we first reverse that payout's transfer at Stripe (the money comes
back to the platform) and then return the diamonds; either way the payout account is marked
unverified so no further money goes to a bank that rejects it. A failed bank payout that
names none of ours (automatic payouts aggregate many transfers) is recorded on the inbox
row for staff and moves nothing. Only a `payout.failed` sent from the connected account we paid
that payout to counts, and only when Stripe's transfer for it went to that account: another
account's event naming our payout (or the platform's own bank payout) moves nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from creators.models import Payout, PayoutAccount
from creators.payout_providers import TransferResult
from creators.payouts import errors as payout_errors
from creators.payouts.services.driving import settle_payout
from wallet import errors, stripe_gateway
from wallet.models import Account, Transaction, Unit
from wallet.purchases import webhooks
from wallet.services import Leg, diamond_account_id, post_transaction, system_account_id
from wallet.stripe_gateway import BankPayoutInfo, TransferInfo

logger = logging.getLogger(__name__)


def _payout_for_transfer(transfer: TransferInfo) -> Payout | None:
    """Our payout of a Stripe transfer, locked: by the recorded transfer id, or (for a payout
    still in flight when the event came) by the metadata and transfer group we sent."""
    found = Payout.objects.filter(
        provider=PayoutAccount.Provider.STRIPE_CONNECT, provider_reference=transfer.id
    ).first()
    if found is None:
        payout_id = transfer.metadata.get("coinsite_payout_id", "")
        if not payout_id.isdigit():
            return None
        found = Payout.objects.filter(
            pk=int(payout_id), provider=PayoutAccount.Provider.STRIPE_CONNECT
        ).first()
        if found is None:
            return None
    payout = Payout.objects.select_for_update().select_related("creator").get(pk=found.pk)
    if payout.provider_reference not in ("", transfer.id):
        return None
    if not payout.provider_reference and transfer.transfer_group != payout.provider_key:
        return None  # a transfer of an earlier attempt: that one never settled
    return payout


def _return_reversed(payout: Payout, *, reversed_cents: int) -> str:
    """Bring the diamonds returned for this paid payout up to the share of `reversed_cents`."""
    if payout.status not in (Payout.Status.PAID, Payout.Status.REVERSED):
        return f"payout {payout.pk} is {payout.status}: nothing to return"
    target_cents = min(reversed_cents, payout.amount_cents)
    if target_cents <= payout.reversed_cents:
        return f"payout {payout.pk}: {payout.reversed_cents} cents already returned"
    target_diamonds = payout.diamonds * target_cents // payout.amount_cents
    delta = target_diamonds - payout.returned_diamonds
    if delta > 0:
        post_transaction(
            kind=Transaction.Kind.PAYOUT_RETURN,
            legs=[
                Leg(system_account_id(Account.Kind.PAID_OUT, Unit.DIAMOND), -delta),
                Leg(diamond_account_id(user_id=payout.creator.user_id), delta),
            ],
            idempotency_key=f"payout-{payout.pk}-reversal-{target_cents}",
            reference=f"payout:{payout.pk}",
            memo=f"Payout #{payout.pk} reversed ({target_cents} of {payout.amount_cents} cents)",
        )
    payout.reversed_cents = target_cents
    payout.returned_diamonds = target_diamonds
    if target_cents == payout.amount_cents:
        payout.status = Payout.Status.REVERSED
    payout.save(update_fields=["reversed_cents", "returned_diamonds", "status", "updated_at"])
    return f"payout {payout.pk}: returned {delta} diamonds ({target_cents} cents reversed)"


def apply_transfer_reversed(*, transfer_id: str) -> str:
    """`transfer.reversed`: what Stripe says about the transfer now (re-read, never taken from the
    event's body) decides what comes back."""
    try:
        transfer = stripe_gateway.retrieve_transfer(transfer_id)
    except errors.StripeObjectNotFound:
        return "not a CoinSite payout transfer"
    with transaction.atomic():
        payout = _payout_for_transfer(transfer)
        if payout is None:
            return "not a CoinSite payout transfer"
        if payout.status == Payout.Status.IN_FLIGHT:
            # The event proves the transfer was made: settle first (same keys as the batch would).
            settle_payout(payout=payout, result=TransferResult(ok=True, reference=transfer.id))
        return _return_reversed(payout, reversed_cents=transfer.amount_reversed)


def apply_bank_payout_failed(*, bank_payout: BankPayoutInfo, account: str) -> str:
    """`payout.failed` from the connected account `account` (the event's `account`)."""
    payout_id = bank_payout.metadata.get("coinsite_payout_id", "")
    if not payout_id.isdigit():
        return "bank payout names no CoinSite payout: funds stay in the creator's Stripe balance"
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update()
            .select_related("creator")
            .filter(pk=int(payout_id), provider=PayoutAccount.Provider.STRIPE_CONNECT)
            .first()
        )
        if payout is None:
            return f"unknown payout {payout_id}"
        if payout.destination != account:
            return f"payout {payout.pk} was not sent to {account[:40]}: nothing moves"
        if payout.status == Payout.Status.IN_FLIGHT:
            raise payout_errors.PayoutNotSettledYet(payout_errors.NOT_SETTLED_YET.format(id=payout.pk))
        if payout.status != Payout.Status.PAID:
            return f"payout {payout.pk} is {payout.status}: nothing to return"
        transfer = stripe_gateway.retrieve_transfer(payout.provider_reference)
        if transfer.id != payout.provider_reference or transfer.destination != payout.destination:
            return f"payout {payout.pk}: Stripe's transfer did not go to {account[:40]}: nothing moves"
        PayoutAccount.objects.filter(pk=payout.account_id).update(
            status=PayoutAccount.Status.UNVERIFIED,
            status_reason=payout_errors.BANK_PAYOUT_FAILED.format(code=bank_payout.failure_code or "unknown")[
                :255
            ],
            verified_at=None,
            verified_by=None,
            updated_at=timezone.now(),
        )
        left = transfer.amount - transfer.amount_reversed
        if left > 0:
            stripe_gateway.reverse_transfer(
                transfer_id=transfer.id,
                amount=left,
                metadata={"coinsite_payout_id": str(payout.pk), "reason": "bank_payout_failed"},
                idempotency_key=f"payout-{payout.pk}-reverse-transfer",
            )
        return _return_reversed(payout, reversed_cents=transfer.amount)


def _transfer_reversed(obj: Mapping[str, Any]) -> str:
    transfer_id = webhooks.object_id(obj, "tr_")
    if transfer_id is None:
        return "no transfer id"
    return apply_transfer_reversed(transfer_id=transfer_id)


def _payout_failed(obj: Mapping[str, Any], account: str) -> str:
    return apply_bank_payout_failed(bank_payout=stripe_gateway.bank_payout_from_object(obj), account=account)


def register_webhook_handlers() -> None:
    """Called from `CreatorsConfig.ready` (wallet imports no other app)."""
    webhooks.register_event_handler("transfer.reversed", _transfer_reversed)
    # A bank payout of ours fails on the creator's connected account, never on the platform's.
    webhooks.register_connect_event_handler("payout.failed", _payout_failed)
