"""The "Get coins" flow against a real localstripe: pay, decline, 3-D Secure, idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from tests.concurrency import run_concurrently
from wallet import errors, selectors, stripe_gateway
from wallet.models import CoinPackage, CoinPurchase, Transaction
from wallet.purchases import checkout
from wallet.services import run_ledger_check
from wallet.tests.purchases.conftest import CARD_3DS, CARD_DECLINED, CARD_OK, StripeJs, start, stripe_client


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pay_page(client: Client, purchase: CoinPurchase) -> str:
    response = client.get(f"/coins/pay/{purchase.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    return html.split('data-setup-secret="')[1].split('"')[0]


def _post_confirm(client: Client, purchase: CoinPurchase, payment_method: str) -> Any:
    """The pay page's script: the card's PaymentMethod to the API, one Idempotency-Key per click."""
    return client.post(
        f"/api/v1/coins/purchases/{purchase.pk}/confirm/",
        {"payment_method": payment_method},
        content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def _confirm(client: Client, purchase: CoinPurchase, payment_method: str) -> dict[str, Any]:
    response = _post_confirm(client, purchase, payment_method)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def _status(client: Client, purchase: CoinPurchase) -> Any:
    """The pay page's script asking how the purchase stands (the API's receipt)."""
    return client.get(f"/api/v1/coins/purchases/{purchase.pk}/")


def _purchase_credits(purchase: CoinPurchase) -> int:
    return Transaction.objects.filter(idempotency_key=f"purchase-{purchase.pk}").count()


def test_the_get_coins_page_lists_the_packages_and_a_custom_amount(make_user, packages):
    client = _login(make_user())
    response = client.get("/coins/")
    assert response.status_code == 200
    html = response.content.decode()
    for package in packages:
        assert f'data-testid="buy-package-{package.coins}"' in html
    assert 'name="custom_coins"' in html
    assert "$0.99" in html and "$249.99" in html


def test_choosing_a_package_twice_with_one_page_token_makes_one_purchase(make_user, packages):
    client = _login(make_user())
    package = CoinPackage.objects.get(coins=700)
    token = str(uuid.uuid4())
    first = client.post("/coins/", {"token": token, "package": package.pk})
    second = client.post("/coins/", {"token": token, "package": package.pk})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    purchase = CoinPurchase.objects.get()
    assert (purchase.coins, purchase.amount_cents, purchase.status) == (700, 999, "pending")


def test_a_custom_amount_is_priced_on_the_server(make_user, packages):
    client = _login(make_user())
    response = client.post("/coins/", {"token": str(uuid.uuid4()), "custom_coins": "1000", "package": ""})
    assert response.status_code == 302
    purchase = CoinPurchase.objects.get()
    # 1000 coins at the 700-coin package's rate (999 cents / 700), rounded up to a cent.
    assert (purchase.coins, purchase.amount_cents) == (1000, 1428)


@pytest.mark.parametrize("coins", ["5", "250001", "abc", "12.5"])
def test_a_custom_amount_out_of_range_is_a_form_error(make_user, packages, settings, coins):
    client = _login(make_user())
    response = client.post("/coins/", {"token": str(uuid.uuid4()), "custom_coins": coins})
    assert response.status_code == 400
    message = errors.CUSTOM_COINS_OUT_OF_RANGE.format(
        min=settings.CUSTOM_COINS_MIN, max=settings.CUSTOM_COINS_MAX
    )
    assert message in response.content.decode()
    assert not CoinPurchase.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"token": "not-a-uuid", "package": "1"},
        {"token": str(uuid.uuid4())},
        {"token": str(uuid.uuid4()), "package": "999999"},
    ],
)
def test_bad_purchase_forms_are_a_4xx_with_a_message(make_user, packages, data):
    response = _login(make_user()).post("/coins/", data)
    assert response.status_code == 400
    assert not CoinPurchase.objects.exists()


def test_a_minor_cannot_buy_coins(make_user, packages):
    client = _login(make_user(age=16))
    assert errors.AgeRestricted.default_message in client.get("/coins/").content.decode()
    package = CoinPackage.objects.get(coins=70)
    response = client.post("/coins/", {"token": str(uuid.uuid4()), "package": package.pk})
    assert response.status_code == 403
    assert errors.AgeRestricted.default_message in response.content.decode()
    assert not CoinPurchase.objects.exists()


def test_a_successful_purchase_credits_once(make_user, packages, stripe_js: StripeJs):
    user = make_user()
    client = _login(user)
    purchase = start(user, 700)
    payment_method = stripe_js.confirm_card_setup(_pay_page(client, purchase), CARD_OK)

    body = _confirm(client, purchase, payment_method)
    assert body["status"] == "paid"
    assert body["balance"] == 700
    assert "700 coins added" in body["message"]

    # A double-click, a reload of the result and the receipt page change nothing.
    again = _confirm(client, purchase, payment_method)
    assert again["status"] == "paid" and again["balance"] == 700
    assert _status(client, purchase).json()["balance"] == 700
    assert client.get(f"/coins/pay/{purchase.pk}/")["Location"] == f"/coins/purchases/{purchase.pk}/"
    receipt = client.get(f"/coins/purchases/{purchase.pk}/").content.decode()
    assert "$9.99" in receipt

    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PAID
    assert purchase.stripe_payment_intent_id.startswith("pi_")
    assert purchase.stripe_charge_id.startswith("ch_")  # localstripe embeds latest_charge
    assert selectors.coin_balance(user_id=user.pk) == 700
    assert _purchase_credits(purchase) == 1
    intent = stripe_gateway.retrieve_payment_intent(purchase.stripe_payment_intent_id)
    assert (intent.status, intent.amount, intent.metadata["purchase_id"]) == (
        "succeeded",
        999,
        str(purchase.pk),
    )
    assert run_ledger_check().ok


def test_a_declined_card_credits_nothing_and_shows_the_reason(make_user, packages, stripe_js: StripeJs):
    user = make_user()
    client = _login(user)
    purchase = start(user, 350)
    payment_method = stripe_js.confirm_card_setup(_pay_page(client, purchase), CARD_DECLINED)

    body = _confirm(client, purchase, payment_method)
    assert body["status"] == "failed"
    assert body["message"] == "Your card was declined."
    assert body["balance"] == 0

    # Trying the same purchase again does not charge again: it answers the same failure.
    assert _confirm(client, purchase, "pm_card_visa")["status"] == "failed"
    receipt = client.get(f"/coins/purchases/{purchase.pk}/").content.decode()
    assert "Your card was declined." in receipt
    purchase.refresh_from_db()
    assert (purchase.status, purchase.failure_code) == ("failed", "card_declined")
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert _purchase_credits(purchase) == 0


@pytest.mark.parametrize("success", [True, False], ids=["completed", "failed"])
def test_3d_secure_is_handled(make_user, packages, stripe_js: StripeJs, success):
    user = make_user()
    client = _login(user)
    purchase = start(user, 1400)
    payment_method = stripe_js.confirm_card_setup(_pay_page(client, purchase), CARD_3DS)

    body = _confirm(client, purchase, payment_method)
    assert body["status"] == "requires_action"
    assert body["client_secret"].startswith("pi_")
    # A reload while the bank waits shows the "Confirm with your bank" button, not the card form.
    assert 'data-testid="authenticate"' in client.get(f"/coins/pay/{purchase.pk}/").content.decode()

    stripe_js.authenticate(body["client_secret"], success=success)
    after = _status(client, purchase).json()
    purchase.refresh_from_db()
    if success:
        assert after["status"] == "paid"
        assert selectors.coin_balance(user_id=user.pk) == 1400
        assert _purchase_credits(purchase) == 1
    else:
        assert after["status"] == "failed"
        assert after["message"] == errors.CARD_AUTHENTICATION_FAILED
        assert purchase.failure_code == "payment_intent_authentication_failure"
        assert selectors.coin_balance(user_id=user.pk) == 0
        assert _purchase_credits(purchase) == 0


def test_a_bad_payment_method_is_a_400(make_user, packages, stripe_settings):
    user = make_user()
    client = _login(user)
    purchase = start(user, 70)
    unreadable = [(bad, errors.PAYMENT_METHOD_INVALID) for bad in ["", "tok_visa", "pm_" + "x" * 300]]
    for bad, message in [*unreadable, ("pm_does_not_exist", errors.PAYMENT_METHOD_NOT_THIS_PURCHASE)]:
        response = _post_confirm(client, purchase, bad)
        assert response.status_code == 400, (bad, response.content)
        # A field the API cannot read is named in the message.
        assert response.json()["message"] in (message, f"payment_method: {message}")
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PENDING


def test_purchase_pages_are_for_their_owner_only(make_user, buy):
    owner, other = make_user(), make_user()
    purchase = buy(owner, 70)
    stranger = _login(other)
    assert stranger.get(f"/coins/purchases/{purchase.pk}/").status_code == 404
    assert stranger.get(f"/coins/pay/{purchase.pk}/").status_code == 404
    assert _status(stranger, purchase).status_code == 404
    assert _post_confirm(stranger, purchase, "pm_card_visa").status_code == 404
    assert f"/coins/purchases/{purchase.pk}/" not in stranger.get("/coins/purchases/").content.decode()
    history = _login(owner).get("/coins/purchases/").content.decode()
    assert f"/coins/purchases/{purchase.pk}/" in history and "$0.99" in history


def test_reloading_the_pay_page_reuses_its_setup_intent(make_user, packages, stripe_settings):
    user = make_user()
    client = _login(user)
    purchase = start(user, 70)
    first, second = _pay_page(client, purchase), _pay_page(client, purchase)
    assert first == second


@pytest.mark.django_db(transaction=True)
def test_confirms_racing_on_one_purchase_charge_the_card_once(make_user, packages, stripe_js: StripeJs):
    user = make_user()
    purchase = start(user, 7000)
    payment_method = stripe_js.card_for(purchase, CARD_OK)

    def click(i: int) -> str:
        return checkout.confirm_purchase(
            purchase_id=purchase.pk, user=user, payment_method_id=payment_method
        ).status

    statuses = run_concurrently(6, click)
    assert statuses == ["paid"] * 6
    assert selectors.coin_balance(user_id=user.pk) == 7000
    assert _purchase_credits(purchase) == 1
    # Exactly one PaymentIntent exists at Stripe for this purchase.
    since = int(purchase.created_at.timestamp()) - 5
    events = [
        e
        for e in stripe_gateway.list_events(type="payment_intent.succeeded", created_gte=since)
        if e.data_object["metadata"].get("purchase_id") == str(purchase.pk)
    ]
    assert len(events) == 1


def _stripe_payment_intents_for(purchase: CoinPurchase, stripe_settings: Any) -> list[str]:
    client = stripe_client(stripe_settings)
    intents = [intent.to_dict() for intent in client.v1.payment_intents.list().auto_paging_iter()]
    return [i["id"] for i in intents if (i.get("metadata") or {}).get("purchase_id") == str(purchase.pk)]


def test_a_purchase_is_paid_only_with_the_card_entered_on_its_own_setup_intent(
    make_user, packages, stripe_js: StripeJs, stripe_settings
):
    alice, mallory = make_user(), make_user()
    alices = start(alice, 70)
    alices_card = stripe_js.confirm_card_setup(_pay_page(_login(alice), alices), CARD_OK)
    client = _login(mallory)
    theirs = start(mallory, 7000)
    own_setup = _pay_page(client, theirs)
    elsewhere = stripe_js.card(CARD_OK)  # a card saved on a SetupIntent of no purchase of hers

    for stolen in (alices_card, elsewhere, "pm_card_visa"):
        response = _post_confirm(client, theirs, stolen)
        assert response.status_code == 400, (stolen, response.content)
        assert response.json()["message"] == errors.PAYMENT_METHOD_NOT_THIS_PURCHASE
    theirs.refresh_from_db()
    assert (theirs.status, theirs.stripe_payment_intent_id) == ("pending", "")
    assert selectors.coin_balance(user_id=mallory.pk) == 0
    assert _stripe_payment_intents_for(theirs, stripe_settings) == []

    # Her own card, entered on this purchase's SetupIntent, pays as before.
    own_card = stripe_js.confirm_card_setup(own_setup, CARD_OK)
    assert _confirm(client, theirs, own_card)["status"] == "paid"
    assert selectors.coin_balance(user_id=mallory.pk) == 7000
    assert run_ledger_check().ok
