"""The "Get coins" flow: one purchase per page load, a SetupIntent for the card, then one
PaymentIntent created and confirmed on the server (Stripe idempotency key `purchase-<id>`).

A double-click, a reload or the back button re-uses the same purchase row, and a purchase
that already has a PaymentIntent (or is closed) is never charged again: confirming it just
returns its state.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from wallet import errors, idempotency, selectors, services, stripe_gateway
from wallet.models import CoinPurchase, User
from wallet.purchases import crediting
from wallet.purchases.locks import purchase_for_update
from wallet.purchases.pricing import Price, price_for_custom_coins, price_for_package

logger = logging.getLogger(__name__)

PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,200}$")
OPEN_SETUP_STATES = ("requires_payment_method", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class PurchaseState:
    """What the checkout page shows; `action_client_secret` is set only when the card needs
    3-D Secure and the browser should run confirmCardPayment once."""

    purchase: CoinPurchase
    balance: int
    action_client_secret: str = ""

    @property
    def status(self) -> str:
        if self.action_client_secret:
            return "requires_action"
        return str(self.purchase.status)

    @property
    def message(self) -> str:
        purchase = self.purchase
        if self.action_client_secret:
            return errors.PURCHASE_NEEDS_BANK
        if purchase.is_credited:
            return errors.PURCHASE_CREDITED.format(coins=purchase.coins, balance=self.balance)
        if purchase.status == CoinPurchase.Status.FAILED:
            return purchase.failure_message or errors.CARD_DECLINED
        if purchase.status == CoinPurchase.Status.ABANDONED:
            return errors.PURCHASE_ABANDONED
        if purchase.status == CoinPurchase.Status.PROCESSING:
            return purchase.failure_message or errors.PURCHASE_PROCESSING
        return errors.PURCHASE_ENTER_CARD


def _state(purchase: CoinPurchase, action_client_secret: str = "") -> PurchaseState:
    return PurchaseState(
        purchase=purchase,
        balance=selectors.coin_balance(user_id=purchase.user_id),
        action_client_secret=action_client_secret,
    )


def _own_purchase_for_update(*, purchase_id: int, user: User) -> CoinPurchase:
    purchase = purchase_for_update(purchase_id=purchase_id)
    if purchase is None or purchase.user_id != user.pk:
        raise errors.NotFound(errors.PURCHASE_NOT_FOUND)
    return purchase


def purchase_token(*, user_id: int, idempotency_key: str) -> uuid.UUID:
    # The purchase row's unique token, derived from the caller's key: a replay finds the same
    # purchase, and one caller's key can never reach another caller's purchase.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"coinsite-api-purchase:{user_id}:{idempotency_key}")


def start_purchase(
    *, user: User, idempotency_key: str, package_id: int | None = None, custom_coins: int | None = None
) -> CoinPurchase:
    """The purchase of this key (the page sends its page-load token, the API its
    Idempotency-Key): created once, re-used on a double-click, a reload or a retry; the same
    key for another package or amount raises IdempotencyConflict."""
    idempotency.check_key(idempotency_key)
    services.check_can_spend(user)
    page_token = purchase_token(user_id=user.pk, idempotency_key=idempotency_key)
    existing = CoinPurchase.objects.filter(page_token=page_token).first()
    if existing is not None:
        return _same_purchase(existing, package_id=package_id, custom_coins=custom_coins)
    price: Price
    if package_id is not None:
        price = price_for_package(package_id=package_id)
    elif custom_coins is not None:
        price = price_for_custom_coins(coins=custom_coins)
    else:
        raise errors.InvalidRequest(errors.CHOOSE_PACKAGE_OR_AMOUNT)
    try:
        with transaction.atomic():
            return CoinPurchase.objects.create(
                user=user,
                page_token=page_token,
                package=price.package,
                coins=price.coins,
                amount_cents=price.amount_cents,
                currency=price.currency,
            )
    except IntegrityError:
        existing = CoinPurchase.objects.get(page_token=page_token)
        return _same_purchase(existing, package_id=package_id, custom_coins=custom_coins)


def _same_purchase(
    purchase: CoinPurchase, *, package_id: int | None, custom_coins: int | None
) -> CoinPurchase:
    """The key's purchase, if this request asks for what it holds; else a conflict."""
    if package_id is not None:
        same = purchase.package_id == package_id
    else:
        same = purchase.package_id is None and purchase.coins == custom_coins
    if not same:
        raise errors.IdempotencyConflict()
    return purchase


@dataclass(frozen=True)
class Checkout:
    state: PurchaseState
    setup_client_secret: str = ""


def prepare_checkout(*, purchase_id: int, user: User) -> Checkout:
    """The pay page: a pending purchase gets a usable SetupIntent (a new one if the last was
    canceled by a failed 3-D Secure); a processing one is re-fetched from Stripe."""
    with transaction.atomic():
        purchase = _own_purchase_for_update(purchase_id=purchase_id, user=user)
        if purchase.status == CoinPurchase.Status.PENDING and not purchase.stripe_payment_intent_id:
            setup = None
            if purchase.stripe_setup_intent_id:
                try:
                    setup = stripe_gateway.retrieve_setup_intent(purchase.stripe_setup_intent_id)
                except errors.StripeObjectNotFound:
                    setup = None
                if setup is not None and setup.status not in OPEN_SETUP_STATES:
                    setup = None
            if setup is None:
                after = purchase.stripe_setup_intent_id or "first"
                setup = stripe_gateway.create_setup_intent(
                    purchase_id=purchase.pk, idempotency_key=f"setup-{purchase.pk}-{after}"
                )
                purchase.stripe_setup_intent_id = setup.id
                purchase.save(update_fields=["stripe_setup_intent_id", "updated_at"])
            return Checkout(state=_state(purchase), setup_client_secret=setup.client_secret)
    return Checkout(state=refresh_purchase(purchase_id=purchase_id, user=user))


def confirm_purchase(
    *, purchase_id: int, user: User, payment_method_id: str, idempotency_key: str | None = None
) -> PurchaseState:
    """Charge the card once: create and confirm the PaymentIntent, credit if it succeeded.

    A purchase that already has a PaymentIntent or is closed returns its state unchanged.
    A decline marks the purchase failed with the card's reason (no exception). With
    `idempotency_key`, a replay of the key returns the first answer (the state as it was then)
    and the same key for another purchase or card raises IdempotencyConflict."""
    if not isinstance(payment_method_id, str) or not PAYMENT_METHOD_ID.match(payment_method_id):
        raise errors.InvalidRequest(errors.PAYMENT_METHOD_INVALID)
    return idempotency.once(
        user=user,
        key=idempotency_key,
        request=("purchase.confirm", purchase_id, payment_method_id),
        act=lambda: _confirm(purchase_id=purchase_id, user=user, payment_method_id=payment_method_id),
        dump=_state_snapshot,
        load=_replayed_state,
    )


def _state_snapshot(state: PurchaseState) -> dict[str, object]:
    return {
        "purchase": idempotency.row_snapshot(state.purchase),
        "balance": state.balance,
        "action_client_secret": state.action_client_secret,
    }


def _replayed_state(first: dict[str, object]) -> PurchaseState:
    snapshot, balance = first["purchase"], first["balance"]
    assert isinstance(snapshot, dict) and isinstance(balance, int)
    return PurchaseState(
        purchase=idempotency.row_from_snapshot(CoinPurchase, snapshot),
        balance=balance,
        action_client_secret=str(first["action_client_secret"]),
    )


def _confirm(*, purchase_id: int, user: User, payment_method_id: str) -> PurchaseState:
    with transaction.atomic():
        # The row lock is held across the Stripe call: a second click waits here and then
        # finds the PaymentIntent instead of creating another one.
        purchase = _own_purchase_for_update(purchase_id=purchase_id, user=user)
        if purchase.status != CoinPurchase.Status.PENDING or purchase.stripe_payment_intent_id:
            return _state(purchase)
        services.check_can_spend(user)
        _check_card_is_this_purchases(purchase, payment_method_id)
        try:
            intent = stripe_gateway.create_and_confirm_payment_intent(
                amount=purchase.amount_cents,
                currency=purchase.currency,
                payment_method=payment_method_id,
                metadata=crediting.purchase_metadata(purchase),
                idempotency_key=f"purchase-{purchase.pk}",
            )
        except errors.PaymentDeclined as exc:
            _record_decline(purchase, exc)
            return _state(purchase)
        except errors.PaymentProviderUnavailable:
            # The charge may or may not exist: never retry it from here; reconciliation
            # finds it by its events (metadata purchase id) or abandons the purchase.
            purchase.status = CoinPurchase.Status.PROCESSING
            purchase.failure_message = errors.PAYMENT_OUTCOME_UNKNOWN
            purchase.save(update_fields=["status", "failure_message", "updated_at"])
            return _state(purchase)
        except errors.StripeObjectNotFound as exc:
            raise errors.InvalidRequest(errors.PAYMENT_METHOD_INVALID) from exc
        crediting.settle_locked(purchase, intent, source="checkout")
        return _state(purchase, _action_secret(purchase, intent))


def _check_card_is_this_purchases(purchase: CoinPurchase, payment_method_id: str) -> None:
    """Only the card the buyer entered on this purchase's SetupIntent may pay for it: any other
    pm_ id (another viewer's saved card, a test token) is refused before anything is charged."""
    if not purchase.stripe_setup_intent_id:
        raise errors.InvalidRequest(errors.PAYMENT_METHOD_NOT_THIS_PURCHASE)
    try:
        setup = stripe_gateway.retrieve_setup_intent(purchase.stripe_setup_intent_id)
    except errors.StripeObjectNotFound as exc:
        raise errors.InvalidRequest(errors.PAYMENT_METHOD_NOT_THIS_PURCHASE) from exc
    if (
        setup.status != "succeeded"
        or setup.payment_method != payment_method_id
        or setup.metadata.get(crediting.METADATA_PURCHASE_ID) != str(purchase.pk)
    ):
        raise errors.InvalidRequest(errors.PAYMENT_METHOD_NOT_THIS_PURCHASE)


def _record_decline(purchase: CoinPurchase, exc: errors.PaymentDeclined) -> None:
    purchase.status = CoinPurchase.Status.FAILED
    purchase.failure_code = str(exc.extra.get("decline_code") or "card_declined")[:100]
    purchase.failure_message = exc.message[:500]
    fields = ["status", "failure_code", "failure_message", "updated_at"]
    intent_id = exc.extra.get("payment_intent_id")
    if intent_id and not CoinPurchase.objects.filter(stripe_payment_intent_id=intent_id).exists():
        purchase.stripe_payment_intent_id = intent_id
        fields.append("stripe_payment_intent_id")
    purchase.save(update_fields=fields)
    logger.info("purchase declined", extra={"purchase_id": purchase.pk, "code": purchase.failure_code})


def _action_secret(purchase: CoinPurchase, intent: stripe_gateway.PaymentIntentInfo) -> str:
    if intent.status == "requires_action" and purchase.status in CoinPurchase.OPEN_STATUSES:
        return intent.client_secret
    return ""


def refresh_purchase(*, purchase_id: int, user: User) -> PurchaseState:
    """The success page's re-fetch: ask Stripe for the PaymentIntent of an open purchase and
    apply it (credits exactly once, like the webhook)."""
    purchase = CoinPurchase.objects.filter(pk=purchase_id, user_id=user.pk).first()
    if purchase is None:
        raise errors.NotFound(errors.PURCHASE_NOT_FOUND)
    if purchase.status not in CoinPurchase.OPEN_STATUSES or not purchase.stripe_payment_intent_id:
        return _state(purchase)
    try:
        intent = stripe_gateway.retrieve_payment_intent(purchase.stripe_payment_intent_id)
    except (errors.StripeObjectNotFound, errors.PaymentProviderError):
        # Show what we know; the webhook or reconciliation settles it (and records a 404).
        return _state(purchase)
    with transaction.atomic():
        purchase = _own_purchase_for_update(purchase_id=purchase_id, user=user)
        if purchase.stripe_payment_intent_id == intent.id:
            crediting.settle_locked(purchase, intent, source="page")
        return _state(purchase, _action_secret(purchase, intent))
