"""The webhook endpoint: signatures, the inbox, idempotent processing, out-of-order events."""

from __future__ import annotations

import json
import queue
import random
import time
from typing import Any

import pytest
from django.test import Client

from tests.concurrency import run_concurrently
from tools.localstripe_server import free_port
from wallet import errors, selectors
from wallet.models import CoinPurchase, ReconciliationIssue, Transaction, WebhookEvent
from wallet.purchases import checkout, webhooks
from wallet.purchases.crediting import purchase_metadata
from wallet.services import run_ledger_check
from wallet.tests.purchases.conftest import CARD_3DS, deliver, event, sign, start, succeeded_events


def _balances(users: list[Any]) -> dict[int, int]:
    return {user.pk: selectors.coin_balance(user_id=user.pk) for user in users}


def _one_paid(make_user, paid_at_stripe_only) -> tuple[Any, CoinPurchase, dict[str, Any]]:
    since = int(time.time()) - 2
    user = make_user()
    (purchase,) = paid_at_stripe_only([user], 1)
    payload = succeeded_events([purchase.stripe_payment_intent_id], since=since)[
        purchase.stripe_payment_intent_id
    ]
    return user, purchase, payload


def test_a_delivery_without_a_signature_is_refused_before_anything_is_stored(client: Client, db):
    body = json.dumps(event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})).encode()
    response = deliver(client, body, None)
    assert response.status_code == 400
    assert response.json()["message"] == errors.WEBHOOK_SIGNATURE_MISSING
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("forgery", ["wrong secret", "altered body", "stale", "garbage header"])
def test_forged_altered_and_stale_deliveries_are_refused(client: Client, db, forgery):
    payload = event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "amount": 99})
    if forgery == "wrong secret":
        body, header = sign(payload, secret="whsec_someone_else")
    elif forgery == "altered body":
        body, header = sign(payload)
        body = body.replace(b'"amount": 99', b'"amount": 1')
    elif forgery == "stale":
        body, header = sign(payload, timestamp=int(time.time()) - 301)
    else:
        body, header = sign(payload)
        header = "t=abc,v0=deadbeef"
    response = deliver(client, body, header)
    assert response.status_code == 400
    assert response.json()["message"] == errors.WEBHOOK_SIGNATURE_INVALID
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_a_400(client: Client, db):
    for body in [b"[1, 2]", b"not json", json.dumps({"object": "event", "id": "evt_1"}).encode()]:
        signed, header = sign(body)
        response = deliver(client, signed, header)
        assert response.status_code == 400
        assert response.json()["message"] == errors.WEBHOOK_PAYLOAD_INVALID
    assert not WebhookEvent.objects.exists()


def test_an_unknown_event_type_is_recorded_and_ignored(client: Client, db):
    body, header = sign(
        event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_unknown_1")
    )
    assert deliver(client, body, header).status_code == 200
    assert deliver(client, body, header).status_code == 200
    stored = WebhookEvent.objects.get()
    assert (stored.stripe_event_id, stored.status, stored.attempts) == ("evt_unknown_1", "ignored", 1)


def test_localstripes_own_event_credits_once_however_often_it_arrives(
    client: Client, make_user, paid_at_stripe_only
):
    user, purchase, payload = _one_paid(make_user, paid_at_stripe_only)
    body, header = sign(payload)
    for _ in range(3):
        response = deliver(client, body, header)
        assert response.status_code == 200
        assert response.json()["status"] == "processed"
    stored = WebhookEvent.objects.get()
    assert (stored.type, stored.outcome, stored.attempts) == ("payment_intent.succeeded", "credited", 1)
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PAID
    assert selectors.coin_balance(user_id=user.pk) == 70


def test_a_failure_event_after_success_does_not_uncredit(client: Client, make_user, paid_at_stripe_only):
    user, purchase, payload = _one_paid(make_user, paid_at_stripe_only)
    body, header = sign(payload)
    assert deliver(client, body, header).status_code == 200
    failed = event(
        "payment_intent.payment_failed",
        {
            **payload["data"]["object"],
            "status": "requires_payment_method",
            "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        },
    )
    assert deliver(client, *sign(failed)).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PAID
    assert selectors.coin_balance(user_id=user.pk) == 70


def test_tampered_event_bodies_change_nothing_stripe_decides_what_is_credited(
    client: Client, make_user, paid_at_stripe_only
):
    """Signed with our secret but altered: a wrong amount, currency, someone else's purchase in
    the metadata, or a PaymentIntent Stripe does not know. Only what Stripe says is applied."""
    since = int(time.time()) - 2
    alice, bob = make_user(), make_user()
    mine, theirs = paid_at_stripe_only([alice, bob], 2)
    real = succeeded_events([mine.stripe_payment_intent_id], since=since)[mine.stripe_payment_intent_id]
    obj = real["data"]["object"]
    forged = [
        {**obj, "amount": 1},
        {**obj, "currency": "eur"},
        {**obj, "metadata": {"purchase_id": str(theirs.pk), "user_id": str(alice.pk)}},
        {**obj, "metadata": {"purchase_id": str(theirs.pk), "user_id": str(bob.pk)}},
        {
            **obj,
            "id": "pi_not_ours_at_all",
            "metadata": {"purchase_id": str(mine.pk), "user_id": str(alice.pk)},
        },
    ]
    for obj_variant in forged:
        assert deliver(client, *sign(event("payment_intent.succeeded", obj_variant))).status_code == 200
    # Stripe says alice's PaymentIntent succeeded for her purchase: that, and only that, is credited.
    assert _balances([alice, bob]) == {alice.pk: 70, bob.pk: 0}
    assert Transaction.objects.filter(kind="purchase").count() == 1
    theirs.refresh_from_db()
    assert theirs.status == CoinPurchase.Status.PROCESSING
    assert set(ReconciliationIssue.objects.values_list("kind", "stripe_object_id")) == {
        ("unknown_payment_intent", "pi_not_ours_at_all")
    }
    assert deliver(client, *sign(real)).status_code == 200
    assert _balances([alice, bob]) == {alice.pk: 70, bob.pk: 0}
    assert run_ledger_check().ok


def test_a_failed_handler_is_recorded_and_retried(
    client: Client, make_user, paid_at_stripe_only, monkeypatch
):
    user, purchase, payload = _one_paid(make_user, paid_at_stripe_only)

    def broken(obj: Any) -> str:
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(webhooks.EVENT_HANDLERS, "payment_intent.succeeded", broken)
    assert deliver(client, *sign(payload)).status_code == 200
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.attempts, stored.last_error) == (
        "failed",
        1,
        "RuntimeError: database hiccup",
    )
    monkeypatch.undo()
    assert webhooks.retry_webhook_events(older_than_seconds=0) == 1
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 2, "")
    assert selectors.coin_balance(user_id=user.pk) == 70


@pytest.mark.django_db(transaction=True)
def test_200_purchases_each_event_delivered_5_times_in_shuffled_order_16_at_once_credit_once(
    make_user, paid_at_stripe_only
):
    since = int(time.time()) - 2
    users = [make_user() for _ in range(20)]
    purchases = paid_at_stripe_only(users, 200)
    payloads = succeeded_events([p.stripe_payment_intent_id for p in purchases], since=since)
    assert len(payloads) == 200
    deliveries = [sign(payload) for payload in payloads.values()] * 5
    random.Random(3).shuffle(deliveries)
    work: queue.Queue[tuple[bytes, str]] = queue.Queue()
    for item in deliveries:
        work.put(item)
    codes: list[int] = []

    def worker(i: int) -> None:
        client = Client()
        while True:
            try:
                body, header = work.get_nowait()
            except queue.Empty:
                return
            codes.append(deliver(client, body, header).status_code)

    run_concurrently(16, worker)

    assert codes == [200] * 1000
    assert WebhookEvent.objects.count() == 200
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Transaction.objects.filter(kind="purchase").count() == 200
    assert CoinPurchase.objects.filter(status="paid").count() == 200
    expected = {user.pk: 70 * sum(1 for p in purchases if p.user_id == user.pk) for user in users}
    assert _balances(users) == expected
    assert run_ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_event_to_the_running_app_which_credits_it(
    stripe_settings, asgi_server, localstripe_url, make_user, paid_at_stripe_only
):
    from tools.localstripe_server import register_webhook

    register_webhook(
        localstripe_url,
        f"{asgi_server}/stripe/webhook/",
        stripe_settings.STRIPE_WEBHOOK_SECRET,
        webhook_id="browser-tests",
        events=["payment_intent.succeeded"],
    )
    try:
        user = make_user()
        (purchase,) = paid_at_stripe_only([user], 1)
        for _ in range(100):  # localstripe posts about a second after the event
            purchase.refresh_from_db()
            if purchase.is_credited:
                break
            time.sleep(0.1)
        assert (purchase.status, purchase.credit_source) == ("paid", "webhook")
        assert WebhookEvent.objects.get().status == "processed"
        assert selectors.coin_balance(user_id=user.pk) == 70
    finally:
        # Registrations cannot be deleted: point this one at an event type that never happens.
        register_webhook(
            localstripe_url,
            f"{asgi_server}/stripe/webhook/",
            "whsec_unused",
            webhook_id="browser-tests",
            events=["coinsite.never"],
        )


def _awaiting_bank(make_user, stripe_js) -> tuple[Any, CoinPurchase, str]:
    """A purchase whose PaymentIntent waits for 3-D Secure at Stripe: nothing is paid yet."""
    user = make_user()
    purchase = start(user, 70)
    payment_method = stripe_js.confirm_card_setup(
        checkout.prepare_checkout(purchase_id=purchase.pk, user=user).setup_client_secret, CARD_3DS
    )
    state = checkout.confirm_purchase(purchase_id=purchase.pk, user=user, payment_method_id=payment_method)
    assert state.status == "requires_action", state.message
    purchase.refresh_from_db()
    return user, purchase, state.action_client_secret


def _claimed_success(purchase: CoinPurchase) -> dict[str, Any]:
    """A success event as an attacker who can sign with our secret would write it."""
    return event(
        "payment_intent.succeeded",
        {
            "id": purchase.stripe_payment_intent_id,
            "object": "payment_intent",
            "status": "succeeded",
            "amount": purchase.amount_cents,
            "currency": purchase.currency,
            "metadata": purchase_metadata(purchase),
            "latest_charge": None,
        },
    )


def test_a_correctly_signed_success_for_a_payment_intent_stripe_has_not_paid_credits_nothing(
    client: Client, make_user, stripe_js, packages
):
    user, purchase, action_secret = _awaiting_bank(make_user, stripe_js)
    forged = _claimed_success(purchase)
    body, header = sign(forged)
    for _ in range(3):
        assert deliver(client, body, header).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PROCESSING
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert not Transaction.objects.filter(kind="purchase").exists()
    assert WebhookEvent.objects.get().outcome == "open"

    # Once the bank confirms, the same claim under a new event id is what Stripe says: credited once.
    stripe_js.authenticate(action_secret, success=True)
    for _ in range(3):
        assert deliver(client, *sign({**forged, "id": "evt_after_the_bank"})).status_code == 200
    purchase.refresh_from_db()
    assert (purchase.status, selectors.coin_balance(user_id=user.pk)) == ("paid", 70)
    assert Transaction.objects.filter(kind="purchase").count() == 1
    assert run_ledger_check().ok


def test_a_signed_success_naming_a_payment_intent_stripe_does_not_know_credits_nothing(
    client: Client, make_user, stripe_js, packages
):
    user, purchase, _ = _awaiting_bank(make_user, stripe_js)
    forged = _claimed_success(purchase)
    forged["data"]["object"]["id"] = "pi_made_up_by_the_sender"
    body, header = sign(forged)
    for _ in range(3):
        assert deliver(client, body, header).status_code == 200
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert not Transaction.objects.filter(kind="purchase").exists()
    assert (
        ReconciliationIssue.objects.filter(
            kind="unknown_payment_intent", stripe_object_id="pi_made_up_by_the_sender"
        ).count()
        == 1
    )
    assert run_ledger_check().ok


def test_a_purchase_event_from_a_connected_account_is_not_our_purchase(
    client: Client, make_user, paid_at_stripe_only
):
    user, purchase, payload = _one_paid(make_user, paid_at_stripe_only)
    body, header = sign({**payload, "id": "evt_from_a_connected_account", "account": "acct_1Creator"})
    for _ in range(3):
        assert deliver(client, body, header).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PROCESSING
    assert selectors.coin_balance(user_id=user.pk) == 0
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.outcome) == ("ignored", webhooks.CONNECTED_ACCOUNT_OUTCOME)
    # Platform events (no `account`) still credit as before.
    assert deliver(client, *sign(payload)).status_code == 200
    assert selectors.coin_balance(user_id=user.pk) == 70
    assert run_ledger_check().ok


def test_repeated_and_late_success_events_are_settled_without_asking_stripe(
    client: Client, make_user, paid_at_stripe_only, stripe_settings
):
    user, purchase, payload = _one_paid(make_user, paid_at_stripe_only)
    (other,) = paid_at_stripe_only([user], 1)
    body, header = sign(payload)
    assert deliver(client, body, header).json()["status"] == "processed"
    # Stripe unreachable from here on: duplicates and late copies must not need it.
    stripe_settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    for _ in range(3):
        assert deliver(client, body, header).status_code == 200
    late = {**payload, "id": "evt_the_same_success_again"}
    assert deliver(client, *sign(late)).json()["status"] == "processed"
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"credited", "already_credited"}
    assert selectors.coin_balance(user_id=user.pk) == 70
    # A PaymentIntent not credited yet does need Stripe: that event waits in the inbox for a retry.
    waiting = _claimed_success(other)
    assert deliver(client, *sign(waiting)).json()["status"] == "failed"
    assert selectors.coin_balance(user_id=user.pk) == 70
