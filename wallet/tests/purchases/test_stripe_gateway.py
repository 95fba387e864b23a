"""The Stripe gateway: the only importer of `stripe`, our own shapes, our idempotency keys."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from wallet import errors, stripe_gateway
from wallet.models import User
from wallet.purchases import checkout
from wallet.purchases.refunds import refund_purchase
from wallet.tests.purchases.conftest import CARD_OK, localstripe_proxy, start

ROOT = Path(__file__).resolve().parents[3]


def test_only_the_gateway_imports_the_stripe_sdk():
    importers = []
    for folder in ("coinsite", "wallet", "gifts", "creators"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            if re.search(r"^\s*(import stripe|from stripe)\b", path.read_text(), re.MULTILINE):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == ["wallet/stripe_gateway.py"]


@pytest.mark.parametrize(
    "latest_charge", ["ch_123", {"id": "ch_123", "object": "charge", "amount": 99}], ids=["id", "embedded"]
)
def test_latest_charge_may_be_an_id_or_an_embedded_charge(latest_charge):
    intent = stripe_gateway.payment_intent_from_object(
        {
            "id": "pi_1",
            "status": "succeeded",
            "amount": 99,
            "currency": "USD",
            "metadata": {"purchase_id": 7},
            "latest_charge": latest_charge,
        }
    )
    assert (intent.charge_id, intent.currency, intent.metadata) == ("ch_123", "usd", {"purchase_id": "7"})


def test_a_key_that_is_not_a_test_key_is_refused_at_call_time(settings):
    settings.STRIPE_SECRET_KEY = "rk_live_something"
    with pytest.raises(ImproperlyConfigured):
        stripe_gateway.retrieve_payment_intent("pi_1")


def test_a_live_key_swapped_in_while_debug_is_on_is_refused_at_call_time(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = "sk_live_something"
    with pytest.raises(ImproperlyConfigured):
        stripe_gateway.retrieve_payment_intent("pi_1")


def test_settings_refuse_a_live_key_at_start_up_while_debug_is_on():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "STRIPE_SECRET_KEY": "sk_live_nope",
        "DJANGO_SETTINGS_MODULE": "coinsite.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "refuses live Stripe keys" in result.stderr


def test_an_unreachable_stripe_is_a_transient_error(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(errors.PaymentProviderUnavailable):
        stripe_gateway.retrieve_payment_intent("pi_1")


@pytest.fixture
def recorded_keys(stripe_settings: Any, localstripe_url: str) -> Iterator[list[tuple[str, str]]]:
    """A pass-through proxy in front of the real localstripe that notes each write's
    Idempotency-Key (localstripe ignores the header, so only the wire shows it)."""
    seen: list[tuple[str, str]] = []

    def note(method: str, path: str, headers: Any, body: bytes | None) -> None:
        if method == "POST":
            seen.append((path, headers.get("Idempotency-Key", "")))

    with localstripe_proxy(stripe_settings, localstripe_url, note):
        yield seen


def test_writes_carry_our_idempotency_keys(recorded_keys, make_user, packages, stripe_js):
    user: User = make_user()
    purchase = start(user, 70)
    card = stripe_js.card_for(purchase, CARD_OK)
    state = checkout.confirm_purchase(purchase_id=purchase.pk, user=user, payment_method_id=card)
    assert state.status == "paid"
    refund_purchase(purchase_id=purchase.pk, staff_user=make_user(is_staff=True), reason="test")
    assert ("/v1/payment_intents", f"purchase-{purchase.pk}") in recorded_keys
    assert ("/v1/refunds", f"refund-{purchase.pk}") in recorded_keys
