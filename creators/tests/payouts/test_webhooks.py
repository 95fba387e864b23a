"""Stripe's `transfer.reversed` and `payout.failed`, signed with the SDK's helper and posted to
/stripe/webhook/: however often they are delivered, the diamonds come back once."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from django.test import Client

from creators.models import Payout, PayoutAccount
from creators.payouts.services import accounts, driving, planning
from creators.tests.payouts.stripe_stub import StripeConnectStub, fixture, running_stub
from tests.factories import give_diamonds
from wallet.models import Transaction, WebhookEvent
from wallet.purchases import webhooks
from wallet.selectors import diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db

SECRET = "whsec_payout_tests"
ACCOUNT = "acct_1NORMALISEDacct0001"


@pytest.fixture
def stripe_connect(payout_settings: Any) -> Iterator[StripeConnectStub]:
    with running_stub() as stub:
        payout_settings.STRIPE_API_BASE = stub.url
        payout_settings.STRIPE_SECRET_KEY = "sk_test_connect_stub"
        payout_settings.STRIPE_WEBHOOK_SECRET = SECRET
        payout_settings.PAYOUT_PROVIDER = "stripe_connect"
        yield stub


@pytest.fixture
def paid(stripe_connect, make_creator, staff) -> tuple[Any, Payout]:
    """A creator whose 4,001 diamonds were paid out ($20.00) through Stripe Connect."""
    creator = make_creator()
    account = accounts.connect_payout_account(creator=creator, destination=ACCOUNT)
    accounts.set_payout_account_verified(account_id=account.pk, staff=staff, verified=True, reason="KYC done")
    give_diamonds(creator, 4_001)
    payout = driving.run_payout_batch(period=f"hooks-{uuid.uuid4().hex[:6]}").batch.payouts.get()
    assert payout.status == Payout.Status.PAID
    assert diamond_balance(user_id=creator.user_id) == 1
    return creator, payout


def _deliver(client: Client, event: dict[str, Any]) -> Any:
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)  # the SDK's own helper
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": header},
    )


def _transfer_reversed(
    payout: Payout, *, amount_reversed: int, event_id: str | None = None
) -> dict[str, Any]:
    event = fixture("event_transfer_reversed")
    event["id"] = event_id or f"evt_1NORMALISED{uuid.uuid4().hex[:12]}"
    obj = event["data"]["object"]
    obj.update(
        id=payout.provider_reference,
        amount=payout.amount_cents,
        amount_reversed=amount_reversed,
        reversed=amount_reversed >= payout.amount_cents,
        transfer_group=payout.provider_key,
        metadata={"coinsite_payout_id": str(payout.pk), "coinsite_key": payout.provider_key},
    )
    return event


def _payout_failed(payout: Payout | None, *, event_id: str | None = None) -> dict[str, Any]:
    event = fixture("event_payout_failed")
    event["id"] = event_id or f"evt_1NORMALISED{uuid.uuid4().hex[:12]}"
    obj = event["data"]["object"]
    obj["metadata"] = {"coinsite_payout_id": str(payout.pk)} if payout else {}
    if payout:
        obj["amount"] = payout.amount_cents
    return event


def _reverse_at_stripe(stub: StripeConnectStub, transfer_id: str, cents: int) -> None:
    """Stripe reverses (part of) the transfer, as staff would in its dashboard."""
    stub.handle("POST", f"/v1/transfers/{transfer_id}/reversals", "", {"amount": str(cents)})


def _returns(payout: Payout) -> int:
    return Transaction.objects.filter(
        reference=f"payout:{payout.pk}", kind=Transaction.Kind.PAYOUT_RETURN
    ).count()


def test_a_transfer_reversal_delivered_three_times_returns_the_diamonds_once(
    client: Client, paid, stripe_connect
):
    creator, payout = paid
    _reverse_at_stripe(stripe_connect, payout.provider_reference, payout.amount_cents)
    event = _transfer_reversed(payout, amount_reversed=payout.amount_cents)

    statuses = [_deliver(client, event).status_code for _ in range(3)]
    # The same reversal again under new event ids (Stripe may resend an update as a new event).
    statuses += [
        _deliver(client, copy.deepcopy({**event, "id": f"evt_again_{n}"})).status_code for n in range(3)
    ]

    assert statuses == [200] * 6
    payout.refresh_from_db()
    assert (payout.status, payout.reversed_cents, payout.returned_diamonds) == (
        Payout.Status.REVERSED,
        2000,
        4000,
    )
    assert diamond_balance(user_id=creator.user_id) == 4_001
    assert _returns(payout) == 1
    assert WebhookEvent.objects.filter(type="transfer.reversed", status="processed").count() == 4
    assert run_ledger_check().ok


def test_partial_reversals_return_their_share_once_each_in_any_order(client: Client, paid, stripe_connect):
    creator, payout = paid
    half = _transfer_reversed(payout, amount_reversed=500)
    full = _transfer_reversed(payout, amount_reversed=2000)

    def deliver(event: dict[str, Any]) -> None:
        assert (
            _deliver(client, copy.deepcopy({**event, "id": f"evt_{uuid.uuid4().hex[:10]}"})).status_code
            == 200
        )

    _reverse_at_stripe(stripe_connect, payout.provider_reference, 500)
    for event in (half, half):
        deliver(event)
    assert diamond_balance(user_id=creator.user_id) == 1 + 1000
    _reverse_at_stripe(stripe_connect, payout.provider_reference, 1500)
    # Late copies of the first reversal read what Stripe says now, as the later event does.
    for event in (half, full, half, full):
        deliver(event)

    assert diamond_balance(user_id=creator.user_id) == 4_001
    assert set(
        Transaction.objects.filter(reference=f"payout:{payout.pk}", kind="payout_return").values_list(
            "idempotency_key", flat=True
        )
    ) == {f"payout-{payout.pk}-reversal-500", f"payout-{payout.pk}-reversal-2000"}
    assert run_ledger_check().ok


def test_a_failed_bank_payout_delivered_three_times_reverses_the_transfer_once_and_returns_once(
    client: Client, paid, stripe_connect
):
    creator, payout = paid
    event = _payout_failed(payout)

    for n in range(3):
        _deliver(client, event)
        _deliver(client, copy.deepcopy({**event, "id": f"evt_failed_again_{n}"}))

    payout.refresh_from_db()
    assert payout.status == Payout.Status.REVERSED
    assert diamond_balance(user_id=creator.user_id) == 4_001
    assert _returns(payout) == 1
    reversals = stripe_connect.posts(f"/v1/transfers/{payout.provider_reference}/reversals")
    assert [c.idempotency_key for c in reversals] == [f"payout-{payout.pk}-reverse-transfer"]
    assert stripe_connect.transfers[payout.provider_reference]["reversed"] is True
    account = PayoutAccount.objects.get(pk=payout.account_id)
    assert account.status == PayoutAccount.Status.UNVERIFIED
    assert "account_closed" in account.status_reason
    # Stripe then reports its own reversal: nothing more comes back.
    _deliver(client, _transfer_reversed(payout, amount_reversed=payout.amount_cents))
    assert diamond_balance(user_id=creator.user_id) == 4_001
    assert run_ledger_check().ok


def test_a_failed_bank_payout_that_names_no_payout_of_ours_moves_nothing(client: Client, paid):
    creator, _ = paid
    response = _deliver(client, _payout_failed(None))

    assert response.status_code == 200
    event = WebhookEvent.objects.get(type="payout.failed")
    assert (event.status, event.outcome.startswith("bank payout names no CoinSite payout")) == (
        "processed",
        True,
    )
    assert diamond_balance(user_id=creator.user_id) == 1


def test_a_reversal_of_a_payout_still_in_flight_settles_it_then_returns_it(
    client: Client, stripe_connect, make_creator, staff
):
    creator = make_creator()
    account = accounts.connect_payout_account(creator=creator, destination=ACCOUNT)
    accounts.set_payout_account_verified(account_id=account.pk, staff=staff, verified=True, reason="KYC done")
    give_diamonds(creator, 2_000)
    batch = planning.create_payout_batch(period="in-flight").batch
    claimed = driving._claim_next(batch.pk)
    assert claimed is not None and claimed.claim is not None
    transfer = stripe_connect.handle(
        "POST",
        "/v1/transfers",
        claimed.claim.key,
        {
            "amount": "1000",
            "currency": "usd",
            "destination": ACCOUNT,
            "transfer_group": claimed.claim.key,
            "metadata[coinsite_payout_id]": str(claimed.payout_id),
        },
    )[1]  # the worker died after Stripe made the transfer
    payout = Payout.objects.get(pk=claimed.payout_id)
    payout.provider_reference = transfer["id"]  # only for building the event
    _reverse_at_stripe(stripe_connect, transfer["id"], 1000)

    _deliver(client, _transfer_reversed(payout, amount_reversed=1000))
    driving.process_payout_batch(batch_id=batch.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == (Payout.Status.REVERSED, transfer["id"])
    assert diamond_balance(user_id=creator.user_id) == 2_000
    assert len(stripe_connect.transfers) == 1
    assert run_ledger_check().ok


def test_a_reversal_of_a_transfer_we_do_not_know_is_recorded_and_ignored(client: Client, paid):
    creator, payout = paid
    event = _transfer_reversed(payout, amount_reversed=2000)
    event["data"]["object"].update(id="tr_1NORMALISEDunknown0001", metadata={}, transfer_group="someone-else")

    assert _deliver(client, event).status_code == 200

    assert WebhookEvent.objects.get(type="transfer.reversed").outcome == "not a CoinSite payout transfer"
    assert diamond_balance(user_id=creator.user_id) == 1


def test_a_failed_bank_payout_for_a_payout_still_in_flight_waits_in_the_inbox_until_it_settles(
    client: Client, stripe_connect, make_creator, staff
):
    creator = make_creator()
    account = accounts.connect_payout_account(creator=creator, destination=ACCOUNT)
    accounts.set_payout_account_verified(account_id=account.pk, staff=staff, verified=True, reason="KYC done")
    give_diamonds(creator, 2_000)
    batch = planning.create_payout_batch(period="early-event").batch
    claimed = driving._claim_next(batch.pk)
    assert claimed is not None
    payout = Payout.objects.get(pk=claimed.payout_id)

    _deliver(client, _payout_failed(payout))
    event = WebhookEvent.objects.get(type="payout.failed")
    assert (event.status, diamond_balance(user_id=creator.user_id)) == ("failed", 0)

    Payout.objects.filter(pk=payout.pk).update(lease_until=None)
    driving.process_payout_batch(batch_id=batch.pk)  # the batch pays it
    webhooks.retry_webhook_events(older_than_seconds=0)  # the inbox's periodic retry

    event.refresh_from_db()
    payout.refresh_from_db()
    assert (event.status, payout.status) == ("processed", Payout.Status.REVERSED)
    assert diamond_balance(user_id=creator.user_id) == 2_000
    assert run_ledger_check().ok


@pytest.mark.parametrize(
    "sender", ["another connected account", "the platform itself"], ids=["other account", "no account"]
)
def test_a_failed_bank_payout_not_sent_from_the_payouts_own_account_moves_nothing(
    client: Client, paid, stripe_connect, sender
):
    creator, payout = paid
    event = _payout_failed(payout)
    if sender == "another connected account":
        event["account"] = "acct_1NORMALISEDacct0002"
    else:
        del event["account"]

    for n in range(3):
        assert _deliver(client, {**event, "id": f"evt_not_theirs_{n}"}).status_code == 200

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert diamond_balance(user_id=creator.user_id) == 1
    assert _returns(payout) == 0
    assert stripe_connect.posts(f"/v1/transfers/{payout.provider_reference}/reversals") == []
    assert PayoutAccount.objects.get(pk=payout.account_id).status == PayoutAccount.Status.VERIFIED
    assert run_ledger_check().ok


def test_a_signed_transfer_reversal_that_stripe_never_made_returns_nothing(
    client: Client, paid, stripe_connect
):
    creator, payout = paid
    forged = _transfer_reversed(payout, amount_reversed=payout.amount_cents)

    for n in range(3):
        assert _deliver(client, {**forged, "id": f"evt_forged_reversal_{n}"}).status_code == 200

    payout.refresh_from_db()
    assert (payout.status, payout.reversed_cents) == (Payout.Status.PAID, 0)
    assert diamond_balance(user_id=creator.user_id) == 1
    assert _returns(payout) == 0
    assert run_ledger_check().ok
