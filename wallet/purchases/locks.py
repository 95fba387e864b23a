"""Named row locks for the purchase flows (callers hold them inside `transaction.atomic`)."""

from __future__ import annotations

from wallet import services
from wallet.models import Account, CoinPurchase


def purchase_for_update(*, purchase_id: int) -> CoinPurchase | None:
    return CoinPurchase.objects.select_for_update().filter(pk=purchase_id).first()


def purchase_by_payment_intent_for_update(*, payment_intent_id: str) -> CoinPurchase | None:
    if not payment_intent_id:
        return None  # "" is every purchase that has no PaymentIntent yet
    return CoinPurchase.objects.select_for_update().filter(stripe_payment_intent_id=payment_intent_id).first()


def purchase_by_charge_for_update(*, charge_id: str) -> CoinPurchase | None:
    if not charge_id:
        return None
    return CoinPurchase.objects.select_for_update().filter(stripe_charge_id=charge_id).first()


def wallet_for_update(*, user_id: int) -> Account:
    """The viewer's coin wallet, locked so a clawback reads a balance nobody spends meanwhile."""
    account = services.coin_account(user_id=user_id)
    return Account.objects.select_for_update().get(pk=account.pk)
