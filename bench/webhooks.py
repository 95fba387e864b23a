"""Coin purchase webhooks: signed `payment_intent.succeeded` deliveries POSTed to
/stripe/webhook/ on the real ASGI app, 16 at a time. Each is built from a purchase paid at a
fresh localstripe (processing, its PaymentIntent succeeded there) and must credit it; the
endpoint re-reads each PaymentIntent from that localstripe before crediting, so the rate
includes one PaymentIntent.retrieve per event. The row reports how many were credited.
Baseline: the same deliveries a second time (duplicates: verified, found stored, nothing
moves, no Stripe call)."""

from __future__ import annotations

import json
import time
from typing import Any

from bench.harness import Row
from bench.reconciliation import localstripe, paid_purchases_without_webhook
from bench.server import HttpRun, Request, asgi_server, drive

CLIENTS = 16


def succeeded_event(purchase: Any) -> bytes:
    """The event Stripe sends when the purchase's PaymentIntent succeeds (the fields crediting reads)."""
    from drills.payments import payment_intent

    intent = payment_intent(purchase, "succeeded")
    event = {
        "id": purchase.stripe_payment_intent_id.replace("pi_", "evt_", 1),
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-07-29.dahlia",
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


def signed(body: bytes) -> dict[str, str]:
    """Signed at send time, as Stripe does (the endpoint refuses deliveries older than its tolerance)."""
    from wallet import stripe_gateway

    return {
        "Stripe-Signature": stripe_gateway.signature_header(payload=body),
        "Content-Type": "application/json",
    }


def deliver_all(url: str, bodies: list[bytes]) -> HttpRun:
    per_client = len(bodies) // CLIENTS

    def request(c: int, i: int) -> Request:
        body = bodies[c * per_client + i]
        return Request("POST", "/stripe/webhook/", signed(body), body)

    return drive(url, clients=CLIENTS, per_client=per_client, request=request, expect=200)


def run(quick: bool) -> list[Row]:
    from wallet.models import CoinPurchase
    from wallet.services import run_ledger_check

    n = 256 if quick else 1600
    n -= n % CLIENTS
    with localstripe() as stripe_url:
        purchases = paid_purchases_without_webhook(n)
        bodies = [succeeded_event(p) for p in purchases]
        stripe_env = {"STRIPE_API_BASE": stripe_url, "STRIPE_SECRET_KEY": "sk_test_localstripe"}
        with asgi_server(env=stripe_env) as server:
            first = deliver_all(server.url, bodies)
            again = deliver_all(server.url, bodies)
    credited = CoinPurchase.objects.filter(
        pk__in=[p.pk for p in purchases], status=CoinPurchase.Status.PAID, credit_source="webhook"
    ).count()
    check = run_ledger_check()
    return [
        Row(
            "webhooks payment_intent.succeeded, 16 clients",
            first.per_second,
            "events/s",
            "the same deliveries again (dupes)",
            again.per_second,
            note=f"{credited:,}/{n:,} credited; {first.latency_note()}",
        ),
        Row(
            "duplicate deliveries (already stored)",
            again.per_second,
            "events/s",
            note=f"{again.latency_note()}; ledger check {'ok' if check.ok else f'{len(check.problems)} problems'}",
        ),
    ]
