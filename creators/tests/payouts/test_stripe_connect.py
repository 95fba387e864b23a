"""The stripe_connect provider, through the real stripe SDK, against a local stub serving
recorded Stripe response shapes (localstripe has no Connect)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from creators.models import Payout, PayoutAccount
from creators.payout_providers import STRIPE_ACCOUNT_INVALID, PayoutProviderUnavailable, StripeConnectProvider
from creators.payouts.services import accounts, driving, planning
from creators.tests.payouts.conftest import keys_of
from creators.tests.payouts.stripe_stub import StripeConnectStub, running_stub
from tests.factories import give_diamonds
from wallet import errors, stripe_gateway
from wallet.selectors import diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db

ACCOUNT = "acct_1NORMALISEDacct0001"


@pytest.fixture
def stripe_connect(payout_settings: Any) -> Iterator[StripeConnectStub]:
    with running_stub() as stub:
        payout_settings.STRIPE_API_BASE = stub.url
        payout_settings.STRIPE_SECRET_KEY = "sk_test_connect_stub"
        payout_settings.PAYOUT_PROVIDER = "stripe_connect"
        yield stub


@pytest.fixture
def stripe_payee(make_creator, staff) -> Any:
    def make(diamonds: int = 4_000, destination: str = ACCOUNT) -> Any:
        creator = make_creator()
        account = accounts.connect_payout_account(creator=creator, destination=destination)
        assert account.status == PayoutAccount.Status.UNVERIFIED  # Stripe accounts wait for staff
        accounts.set_payout_account_verified(
            account_id=account.pk, staff=staff, verified=True, reason="KYC done"
        )
        give_diamonds(creator, diamonds)
        return creator

    return make


def test_a_transfer_sends_our_idempotency_key_group_and_metadata(stripe_connect):
    result = StripeConnectProvider().transfer(
        payout_id=7, destination=ACCOUNT, amount_cents=1234, currency="usd", idempotency_key="payout-7"
    )

    assert result.ok and result.reference.startswith("tr_1NORMALISED")
    (call,) = stripe_connect.posts()
    assert call.idempotency_key == "payout-7"
    assert call.params == {
        "amount": "1234",
        "currency": "usd",
        "destination": ACCOUNT,
        "transfer_group": "payout-7",
        "metadata[coinsite_payout_id]": "7",
        "metadata[coinsite_key]": "payout-7",
    }
    info = stripe_gateway.retrieve_transfer(result.reference)
    assert (info.amount, info.destination, info.transfer_group, info.reversed) == (
        1234,
        ACCOUNT,
        "payout-7",
        False,
    )


def test_the_same_key_twice_makes_one_transfer(stripe_connect):
    provider = StripeConnectProvider()
    args: dict[str, Any] = {
        "payout_id": 8,
        "destination": ACCOUNT,
        "amount_cents": 500,
        "currency": "usd",
        "idempotency_key": "payout-8",
    }
    assert provider.transfer(**args) == provider.transfer(**args)
    assert len(stripe_connect.transfers) == 1
    assert provider.find_transfer(idempotency_key="payout-8") == provider.transfer(**args)
    assert provider.find_transfer(idempotency_key="payout-9") is None


@pytest.mark.parametrize("error", ["error_balance_insufficient", "error_no_such_destination"])
def test_a_refused_transfer_is_a_failure_with_stripes_code(stripe_connect, error):
    stripe_connect.refuse[ACCOUNT] = error
    result = StripeConnectProvider().transfer(
        payout_id=9, destination=ACCOUNT, amount_cents=500, currency="usd", idempotency_key="payout-9"
    )
    assert not result.ok
    assert result.failure_code == {"error_balance_insufficient": "balance_insufficient"}.get(
        error, "resource_missing"
    )
    assert result.failure_message


def test_a_server_error_or_no_connection_leaves_the_outcome_unknown(stripe_connect, payout_settings):
    stripe_connect.down.add(ACCOUNT)
    with pytest.raises(PayoutProviderUnavailable):
        StripeConnectProvider().transfer(
            payout_id=10, destination=ACCOUNT, amount_cents=500, currency="usd", idempotency_key="payout-10"
        )
    payout_settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(PayoutProviderUnavailable):
        StripeConnectProvider().find_transfer(idempotency_key="payout-10")


def test_a_batch_pays_a_verified_stripe_account_and_records_the_transfer(stripe_connect, stripe_payee):
    creator = stripe_payee(4_001)

    batch = driving.run_payout_batch(period="stripe").batch

    payout = batch.payouts.get()
    assert payout.status == Payout.Status.PAID
    assert payout.provider_reference in stripe_connect.transfers
    assert [c.idempotency_key for c in stripe_connect.posts()] == [f"payout-{payout.pk}"]
    assert stripe_connect.transfers[payout.provider_reference]["amount"] == 2000
    assert diamond_balance(user_id=creator.user_id) == 1
    assert run_ledger_check().ok


def test_a_refused_stripe_transfer_fails_and_returns_the_diamonds(stripe_connect, stripe_payee):
    creator = stripe_payee(4_000)
    stripe_connect.refuse[ACCOUNT] = "error_balance_insufficient"

    payout = driving.run_payout_batch(period="stripe-refused").batch.payouts.get()

    assert (payout.status, payout.failure_code) == (Payout.Status.FAILED, "balance_insufficient")
    assert diamond_balance(user_id=creator.user_id) == 4_000


def test_an_outage_leaves_the_payout_in_flight_and_the_next_run_pays_it_once(stripe_connect, stripe_payee):
    creator = stripe_payee(4_000)
    stripe_connect.down.add(ACCOUNT)
    batch = driving.run_payout_batch(period="stripe-down").batch
    payout = batch.payouts.get()
    assert payout.status == Payout.Status.IN_FLIGHT
    assert payout.last_error.startswith("payout_provider_unavailable")

    stripe_connect.down.clear()
    Payout.objects.filter(pk=payout.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    driving.drive_open_batches()

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_connect.transfers) == 1
    assert diamond_balance(user_id=creator.user_id) == 0


def test_a_payout_transferred_before_a_crash_is_found_by_its_group_not_sent_again(
    stripe_connect, stripe_payee
):
    stripe_payee(4_000)
    batch = planning.create_payout_batch(period="stripe-crash").batch
    claimed = driving._claim_next(batch.pk)
    assert claimed is not None and claimed.claim is not None
    StripeConnectProvider().transfer(
        payout_id=claimed.payout_id,
        destination=ACCOUNT,
        amount_cents=claimed.claim.amount_cents,
        currency="usd",
        idempotency_key=claimed.claim.key,
    )  # the worker died here

    Payout.objects.filter(pk=claimed.payout_id).update(
        lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    driving.process_payout_batch(batch_id=batch.pk)

    payout = Payout.objects.get(pk=claimed.payout_id)
    assert payout.status == Payout.Status.PAID
    assert len(stripe_connect.posts()) == 1  # looked up by transfer group, not re-sent
    assert keys_of(payout) == {f"payout-{payout.pk}-start", f"payout-{payout.pk}-settle"}


def test_a_stripe_account_id_is_checked(stripe_connect, make_creator):
    creator = make_creator()
    with pytest.raises(errors.InvalidRequest) as raised:
        accounts.connect_payout_account(creator=creator, destination="not-an-account")
    assert raised.value.message == STRIPE_ACCOUNT_INVALID
