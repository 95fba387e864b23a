"""Coin purchases paid at Stripe but not credited yet, and the signed events Stripe would send
for them (built from the purchase rows, as wallet/tests/purchases/conftest.py does).
Crediting happens for real, through the endpoint, which re-reads each PaymentIntent from
the drill's own localstripe (`stripe_stand_in`), where the purchases were really paid."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from wallet import stripe_gateway
from wallet.catalogue import COIN_PACKAGES
from wallet.models import CoinPackage, CoinPurchase, User


@dataclass(frozen=True)
class Delivery:
    """One POST to /stripe/webhook/ and the answer it must get (200 once stored, or a 4xx).
    Signed when sent, as Stripe does, so a slow run cannot make a valid delivery stale."""

    body: bytes
    expect: int
    label: str
    signing: str = "valid"  # valid, stale, wrong secret, missing, garbage header, as given
    signature: str = ""  # sent as it is when signing is "as given"

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.signing == "missing":
            return headers
        if self.signing == "as given":
            return {**headers, "Stripe-Signature": self.signature}
        if self.signing == "garbage header":
            return {**headers, "Stripe-Signature": "t=abc,v0=deadbeef"}
        secret = "whsec_someone_else" if self.signing == "wrong secret" else None
        timestamp = int(time.time()) - 3600 if self.signing == "stale" else None
        return {**headers, "Stripe-Signature": sign(self.body, secret=secret, timestamp=timestamp)[1]}


def packages() -> list[CoinPackage]:
    found = list(CoinPackage.objects.order_by("coins"))
    if found:
        return found
    return [
        CoinPackage.objects.create(name=f"{coins} coins", coins=coins, price_cents=cents, sort_order=order)
        for order, (coins, cents) in enumerate(COIN_PACKAGES)
    ]


STRIPE_KEY = "sk_test_localstripe"
PAYING_THREADS = 8


@contextmanager
def stripe_stand_in() -> Iterator[str]:
    """A localstripe of the drill's own on a free loopback port (no webhook registered: the drill
    sends the events), with this process's Stripe calls and the servers it starts pointed at it."""
    from tools.localstripe_server import free_port, start_localstripe, stop_localstripe

    url = f"http://127.0.0.1:{free_port()}"
    proc = start_localstripe(int(url.rsplit(":", 1)[1]), None, settings.STRIPE_WEBHOOK_SECRET)
    saved = settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY
    saved_env = {name: os.environ.get(name) for name in ("STRIPE_API_BASE", "STRIPE_SECRET_KEY")}
    settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = url, STRIPE_KEY
    os.environ.update(STRIPE_API_BASE=url, STRIPE_SECRET_KEY=STRIPE_KEY)
    try:
        yield url
    finally:
        settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = saved
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        stop_localstripe(proc)


def paid_at_stripe(buyers: list[User], count: int, *, tag: str) -> list[CoinPurchase]:
    """`count` purchases whose PaymentIntent succeeded at Stripe (inside `stripe_stand_in`, paid
    with a test card and the purchase's metadata); none credited yet."""
    catalogue = packages()[:4]
    purchases = [
        CoinPurchase(
            user=buyers[n % len(buyers)],
            page_token=uuid.uuid4(),
            package=catalogue[n % len(catalogue)],
            coins=catalogue[n % len(catalogue)].coins,
            amount_cents=catalogue[n % len(catalogue)].price_cents,
            currency=settings.COIN_CURRENCY,
            status=CoinPurchase.Status.PROCESSING,
            # Replaced by the real PaymentIntent id in pay_at_stripe; unique until then.
            stripe_payment_intent_id=f"pi_drill_{tag}_{n}",
        )
        for n in range(count)
    ]
    return pay_at_stripe(CoinPurchase.objects.bulk_create(purchases))


def pay_at_stripe(purchases: list[CoinPurchase], *, threads: int = PAYING_THREADS) -> list[CoinPurchase]:
    """Pay stored purchases at Stripe (a localstripe this process points at): a succeeded
    PaymentIntent with each purchase's amount and metadata, its id stored on the purchase;
    none credited yet."""
    from wallet.purchases.crediting import purchase_metadata

    def pay(purchase: CoinPurchase) -> str:
        intent = stripe_gateway.create_and_confirm_payment_intent(
            amount=purchase.amount_cents,
            currency=purchase.currency,
            payment_method="pm_card_visa",
            metadata=purchase_metadata(purchase),
            idempotency_key=f"purchase-{purchase.pk}",
        )
        if intent.status != "succeeded":
            raise RuntimeError(f"the stand-in did not pay purchase {purchase.pk}: {intent.status}")
        return intent.id

    with ThreadPoolExecutor(threads) as pool:
        for purchase, intent_id in zip(purchases, pool.map(pay, purchases), strict=True):
            purchase.stripe_payment_intent_id = intent_id
    CoinPurchase.objects.bulk_update(purchases, ["stripe_payment_intent_id"], batch_size=1000)
    return purchases


def payment_intent(purchase: CoinPurchase, status: str) -> dict[str, Any]:
    """The PaymentIntent object Stripe sends for the purchase in this status (what crediting reads)."""
    from wallet.purchases.crediting import purchase_metadata

    intent: dict[str, Any] = {
        "id": purchase.stripe_payment_intent_id,
        "object": "payment_intent",
        "amount": purchase.amount_cents,
        "currency": purchase.currency,
        "status": status,
        "metadata": purchase_metadata(purchase),
        "latest_charge": None,
    }
    if status == "succeeded":
        intent["latest_charge"] = f"ch_{purchase.stripe_payment_intent_id[3:]}"
    elif status == "requires_payment_method":
        intent["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
    return intent


def dispute(purchase: CoinPurchase, status: str, dispute_id: str | None = None) -> dict[str, Any]:
    """The dispute object of a `charge.dispute.*` event (and of Stripe's dispute read) over the
    whole purchase; localstripe emits no dispute events, so drills and tests build them."""
    return {
        "id": dispute_id or f"dp_{purchase.stripe_payment_intent_id[3:]}",
        "object": "dispute",
        "amount": purchase.amount_cents,
        "currency": purchase.currency,
        "charge": purchase.stripe_charge_id,
        "payment_intent": purchase.stripe_payment_intent_id,
        "reason": "fraudulent",
        "status": status,
    }


def refunded_charge(purchase: CoinPurchase, *, refunded: int | None = None) -> dict[str, Any]:
    """The charge object of a `charge.refunded` event: `refunded` cents back, all of it by default."""
    amount_refunded = purchase.amount_cents if refunded is None else refunded
    return {
        "id": purchase.stripe_charge_id,
        "object": "charge",
        "amount": purchase.amount_cents,
        "amount_refunded": amount_refunded,
        "currency": purchase.currency,
        "payment_intent": purchase.stripe_payment_intent_id,
        "refunded": amount_refunded >= purchase.amount_cents,
        "status": "succeeded",
    }


def refund_object(refund: Any) -> dict[str, Any]:
    """The refund object of a `refund.*` or `charge.refund.updated` event, from a Stripe refund."""
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "currency": refund.currency,
        "charge": refund.charge,
        "payment_intent": refund.payment_intent,
        "status": refund.status,
    }


def event(type: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_drill_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": type,
        "created": created or int(time.time()),
        "livemode": False,
        "api_version": settings.STRIPE_API_VERSION,
        "data": {"object": obj},
    }


def sign(
    payload: dict[str, Any] | bytes, *, secret: str | None = None, timestamp: int | None = None
) -> tuple[bytes, str]:
    """The body and Stripe-Signature header Stripe would send (the SDK's own signing helper)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, stripe_gateway.signature_header(payload=body, secret=secret, timestamp=timestamp)


def delivery(type: str, obj: dict[str, Any], *, label: str, created: int | None = None) -> Delivery:
    return Delivery(json.dumps(event(type, obj, created=created)).encode(), 200, label)


def succeeded(purchase: CoinPurchase) -> Delivery:
    return delivery("payment_intent.succeeded", payment_intent(purchase, "succeeded"), label="succeeded")
