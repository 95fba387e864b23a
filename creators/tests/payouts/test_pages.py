"""/studio/payouts/ and the dashboard's "payouts so far": connecting an account (bad input is
a 400 next to the field), each payout with its status, diamonds and cash, paid vs in flight."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from creators.models import Creator, Payout, PayoutAccount
from creators.payout_providers import STRIPE_ACCOUNT_INVALID
from creators.payouts import errors as payout_errors
from creators.payouts.services import driving, planning
from creators.selectors import creator_earnings_dashboard
from tests.factories import give_diamonds
from wallet.models import Account, Entry, Transaction

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_a_creator_connects_the_local_provider_and_it_verifies_itself(make_creator):
    creator = make_creator()
    client = _logged_in(creator.user)
    page = _text(client.get("/studio/payouts/"))
    assert "No payout account yet" in page

    response = client.post("/studio/payouts/", {"destination": ""})

    assert response.status_code == 302 and response["Location"] == "/studio/payouts/"
    account = PayoutAccount.objects.get(creator=creator)
    assert (account.provider, account.destination, account.status) == (
        "local",
        f"local-{creator.pk}",
        "verified",
    )
    assert "Verified" in _text(client.get("/studio/payouts/"))


def test_local_accounts_wait_for_staff_when_auto_verify_is_off(make_creator, payout_settings):
    payout_settings.LOCAL_PAYOUTS_AUTO_VERIFY = False
    creator = make_creator()
    _logged_in(creator.user).post("/studio/payouts/", {})
    assert PayoutAccount.objects.get(creator=creator).status == PayoutAccount.Status.UNVERIFIED


@pytest.mark.parametrize(
    "destination", ["", "acct_", "acct_short", "cus_123456789", "acct_123456789<script>", "x" * 200]
)
def test_a_bad_stripe_account_id_is_a_400_next_to_the_field(make_creator, payout_settings, destination):
    payout_settings.PAYOUT_PROVIDER = "stripe_connect"
    creator = make_creator()

    response = _logged_in(creator.user).post("/studio/payouts/", {"destination": destination})

    assert response.status_code == 400
    page = _text(response)
    assert STRIPE_ACCOUNT_INVALID in page or "This field is required." in page or "at most 80" in page
    assert not PayoutAccount.objects.exists()


def test_a_stripe_account_waits_for_staff_and_cannot_be_used_by_two_creators(make_creator, payout_settings):
    payout_settings.PAYOUT_PROVIDER = "stripe_connect"
    first, second = make_creator(), make_creator()

    assert (
        _logged_in(first.user).post("/studio/payouts/", {"destination": " acct_1AbCdEf234 "}).status_code
        == 302
    )
    response = _logged_in(second.user).post("/studio/payouts/", {"destination": "acct_1AbCdEf234"})

    assert PayoutAccount.objects.get(creator=first).status == PayoutAccount.Status.UNVERIFIED
    assert response.status_code == 400
    assert payout_errors.DESTINATION_TAKEN in _text(response)


def test_viewers_and_pending_creators_are_sent_to_apply(make_user, make_creator):
    viewer = make_user()
    assert _logged_in(viewer).get("/studio/payouts/")["Location"] == "/creators/apply/"
    creator = make_creator()
    Creator.objects.filter(pk=creator.pk).update(status=Creator.Status.SUSPENDED)
    assert _logged_in(creator.user).post("/studio/payouts/", {})["Location"] == "/creators/apply/"
    assert Client().get("/studio/payouts/").status_code == 302


def test_the_page_lists_each_payout_with_its_status_diamonds_and_cash(payee, payout_settings):
    creator = payee(4_001)
    driving.run_payout_batch(period="2026-W10")
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = ["*"]
    give_diamonds(creator, 3_000)
    driving.run_payout_batch(period="2026-W11")

    page = _text(_logged_in(creator.user).get("/studio/payouts/"))

    paid, failed = Payout.objects.filter(creator=creator).order_by("id")
    assert f'id="payout-{paid.pk}"' in page and f'id="payout-{failed.pk}"' in page
    assert "2026-W10" in page and "Paid" in page and "$20.00" in page and "4,000" in page
    assert "Failed (diamonds returned)" in page and "$15.00" in page
    assert "$20.00" in page  # paid out so far
    assert "3,001" in page  # diamonds now, in the next payout's line


def test_the_dashboard_counts_paid_payouts_not_diamonds_in_flight(payee):
    creator = payee(6_000)
    batch = planning.create_payout_batch(period="dash").batch
    claimed = driving._claim_next(batch.pk)  # diamonds in flight, not paid yet
    assert claimed is not None

    board = creator_earnings_dashboard(creator=creator)
    assert (board.payouts_diamonds, board.payouts_in_flight_diamonds, board.diamonds) == (0, 6_000, 0)

    Payout.objects.filter(pk=claimed.payout_id).update(lease_until=None)
    driving.process_payout_batch(batch_id=batch.pk)
    board = creator_earnings_dashboard(creator=creator)
    assert (board.payouts_diamonds, board.payouts_cents, board.payouts_in_flight_diamonds) == (
        6_000,
        3_000,
        0,
    )
    # The same figure from the creator's ledger entries: diamonds that left through payouts.
    left = -sum(
        Entry.objects.filter(
            account__owner_id=creator.user_id,
            account__kind=Account.Kind.CREATOR_DIAMONDS,
            transaction__kind__in=[Transaction.Kind.PAYOUT, Transaction.Kind.PAYOUT_RETURN],
        ).values_list("amount", flat=True)
    )
    assert left == board.payouts_diamonds
    page = _text(_logged_in(creator.user).get("/studio/"))
    assert "diamonds paid out ($30.00)" in page


def test_a_failed_payout_counts_as_nothing_paid(payee, payout_settings):
    creator = payee(4_000)
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = ["*"]
    driving.run_payout_batch(period="nothing")
    board = creator_earnings_dashboard(creator=creator)
    assert (board.payouts_diamonds, board.payouts_in_flight_diamonds, board.diamonds) == (0, 0, 4_000)
