"""Fixtures for the coin purchase tests: seeded packages, a stand-in for what Stripe.js does
in the browser (against the session's real localstripe), signed webhook deliveries."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from django.test import Client

from wallet import stripe_gateway
from wallet.catalogue import COIN_PACKAGES
from wallet.models import CoinPackage, CoinPurchase, User
from wallet.purchases import checkout

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
CARD_3DS = "4000002500003155"
WEBHOOK_SECRET = "whsec_test_local"


@pytest.fixture
def packages(db: None) -> list[CoinPackage]:
    return [
        CoinPackage.objects.create(name=f"{coins} coins", coins=coins, price_cents=cents, sort_order=order)
        for order, (coins, cents) in enumerate(COIN_PACKAGES)
    ]


class StripeJs:
    """What localstripe's Stripe.js stand-in sends from the browser (publishable key only)."""

    def __init__(self, base_url: str, publishable_key: str) -> None:
        self.base_url = base_url
        self.key = publishable_key

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps({"key": self.key, **body}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def confirm_card_setup(self, setup_client_secret: str, number: str) -> str:
        """confirmCardSetup with the card element filled in; completes a 3-D Secure box. Returns the pm id."""
        seti = setup_client_secret.split("_secret_")[0]
        card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
        body = {"use_stripe_sdk": True, "client_secret": setup_client_secret}
        result = self._post(
            f"/v1/setup_intents/{seti}/confirm",
            {**body, "payment_method_data": {"type": "card", "card": card}},
        )
        if result["status"] == "requires_action":
            result = self._post(f"/v1/setup_intents/{seti}/confirm", body)
        assert result["status"] == "succeeded", result
        return str(result["payment_method"])

    def card(self, number: str) -> str:
        """A PaymentMethod for `number` through a fresh SetupIntent (as the checkout page does)."""
        setup = stripe_gateway.create_setup_intent(purchase_id=0, idempotency_key=f"test-{uuid.uuid4()}")
        return self.confirm_card_setup(setup.client_secret, number)

    def card_for(self, purchase: CoinPurchase, number: str) -> str:
        """The card entered on the purchase's own SetupIntent (the pay page's card form)."""
        setup = checkout.prepare_checkout(purchase_id=purchase.pk, user=purchase.user)
        return self.confirm_card_setup(setup.setup_client_secret, number)

    def authenticate(self, payment_intent_client_secret: str, *, success: bool) -> dict[str, Any]:
        """The 3-D Secure box of confirmCardPayment: Complete (success) or Fail."""
        pi = payment_intent_client_secret.split("_secret_")[0]
        flag = "true" if success else "false"
        return self._post(
            f"/v1/payment_intents/{pi}/_authenticate?success={flag}",
            {"client_secret": payment_intent_client_secret},
        )


@pytest.fixture
def stripe_js(stripe_settings: Any, localstripe_url: str) -> StripeJs:
    return StripeJs(localstripe_url, stripe_settings.STRIPE_PUBLISHABLE_KEY)


# What the proxy fakes for one request: (status, JSON body) to answer it, or None to forward it.
ProxyAnswer = Callable[[str, str, Any, bytes | None], tuple[int, bytes] | None]


@contextmanager
def localstripe_proxy(stripe_settings: Any, localstripe_url: str, answer: ProxyAnswer) -> Iterator[None]:
    """Points the gateway at a proxy in front of the real localstripe: each request is first
    offered to `answer(method, path, headers, body)`; what it leaves (None) is forwarded."""

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(None)

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _answer(self, body: bytes | None) -> None:
            faked = answer(self.command, self.path, self.headers, body)
            status, payload = faked if faked is not None else self._forward(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _forward(self, body: bytes | None) -> tuple[int, bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(
                localstripe_url + self.path, data=body, headers=headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stripe_settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stripe_disputes(stripe_settings: Any, localstripe_url: str) -> Iterator[dict[str, dict[str, Any]]]:
    """The disputes Stripe knows (localstripe has none): the gateway's requests go through a
    proxy that answers GET /v1/disputes/<id> from this dict, as the test sets it, and forwards
    everything else to the real localstripe."""
    known: dict[str, dict[str, Any]] = {}

    def answer(method: str, path: str, headers: Any, body: bytes | None) -> tuple[int, bytes] | None:
        path = path.split("?")[0]
        if not path.startswith("/v1/disputes/"):
            return None
        dispute = known.get(path.rsplit("/", 1)[1])
        missing = {"error": {"type": "invalid_request_error", "message": "No such dispute"}}
        return (200 if dispute else 404), json.dumps(dispute or missing).encode()

    with localstripe_proxy(stripe_settings, localstripe_url, answer):
        yield known


def stripe_client(stripe_settings: Any) -> stripe.StripeClient:
    """Stripe's own SDK at the session's localstripe, for what happens at Stripe outside our code."""
    return stripe.StripeClient(
        stripe_settings.STRIPE_SECRET_KEY, base_addresses={"api": stripe_settings.STRIPE_API_BASE}
    )


def sign(
    payload: dict[str, Any] | bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, str]:
    """The body and Stripe-Signature header Stripe would send (the SDK's own signing helper)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)
    return body, header


def deliver(client: Client, body: bytes, header: str | None) -> Any:
    headers = {"Stripe-Signature": header} if header is not None else {}
    return client.post("/stripe/webhook/", data=body, content_type="application/json", headers=headers)


def deliver_3_times(client: Client, payload: dict[str, Any]) -> None:
    """One signed event delivered three times, as Stripe may; each delivery is stored (200)."""
    body, header = sign(payload)
    for _ in range(3):
        response = deliver(client, body, header)
        assert response.status_code == 200, response.content


def event(type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A hand-built event (localstripe emits no refund or dispute events)."""
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-07-29.dahlia",
        "data": {"object": obj},
    }


def succeeded_events(intent_ids: Iterable[str], *, since: int) -> dict[str, dict[str, Any]]:
    """localstripe's real `payment_intent.succeeded` events for these PaymentIntents, by PI id."""
    wanted = set(intent_ids)
    found: dict[str, dict[str, Any]] = {}
    for info in stripe_gateway.list_events(type="payment_intent.succeeded", created_gte=since):
        intent_id = str(info.data_object["id"])
        if intent_id in wanted:
            found[intent_id] = dict(info.payload)
    return found


def start(user: User, coins: int = 700) -> CoinPurchase:
    package = CoinPackage.objects.get(coins=coins)
    return checkout.start_purchase(user=user, idempotency_key=str(uuid.uuid4()), package_id=package.pk)


@pytest.fixture
def buy(stripe_js: StripeJs, packages: list[CoinPackage]) -> Callable[..., CoinPurchase]:
    """A purchase paid with a card entered on its SetupIntent and credited at checkout."""

    def make(user: User, coins: int = 700) -> CoinPurchase:
        purchase = start(user, coins)
        state = checkout.confirm_purchase(
            purchase_id=purchase.pk, user=user, payment_method_id=stripe_js.card_for(purchase, CARD_OK)
        )
        assert state.status == "paid", state.message
        purchase.refresh_from_db()
        return purchase

    return make


@pytest.fixture
def paid_at_stripe_only(
    stripe_js: StripeJs, packages: list[CoinPackage]
) -> Callable[..., list[CoinPurchase]]:
    """Purchases whose 3-D Secure the browser completed and then went away: paid at Stripe,
    not credited yet (the webhook, the page's re-fetch or reconciliation must do it)."""

    def make(users: list[User], count: int, coins: int = 70) -> list[CoinPurchase]:
        purchases = []
        for n in range(count):
            user = users[n % len(users)]
            purchase = start(user, coins)
            pm = stripe_js.card_for(purchase, CARD_3DS)
            state = checkout.confirm_purchase(purchase_id=purchase.pk, user=user, payment_method_id=pm)
            assert state.status == "requires_action", state.message
            stripe_js.authenticate(state.action_client_secret, success=True)
            purchases.append(purchase)
        for purchase in purchases:
            purchase.refresh_from_db()
            assert purchase.status == CoinPurchase.Status.PROCESSING
        return purchases

    return make
