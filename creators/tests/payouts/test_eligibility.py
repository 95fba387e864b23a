"""Payout eligibility has one definition: what the studio (page and API) calls "eligible" is
exactly who the next batch pays. A frozen wallet or a suspended creator is never shown
eligible."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from creators.models import Creator, Payout
from creators.payouts.selectors import next_payout
from creators.payouts.services import accounts, planning
from creators.services.moderation import suspend_creator
from tests.factories import give_diamonds
from wallet.models import Account
from wallet.services import set_frozen

pytestmark = pytest.mark.django_db

ELIGIBLE_TEXT = "payable diamonds, in the next weekly batch"


def _freeze(creator: Creator) -> None:
    set_frozen(
        account=Account.objects.get(owner_id=creator.user_id, kind=Account.Kind.CREATOR_DIAMONDS),
        frozen=True,
        reason="Under review",
    )


def _page(creator: Creator) -> str:
    client = Client()
    client.force_login(creator.user)
    response = client.get("/studio/payouts/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _api_next(creator: Creator) -> dict:
    client = Client()
    client.force_login(creator.user)
    response = client.get("/api/v1/studio/payouts/")
    assert response.status_code == 200
    return response.json()["next"]


def test_an_eligible_creator_is_shown_eligible_on_the_page_and_the_api(payee):
    creator = payee(2_001)

    assert ELIGIBLE_TEXT in _page(creator)
    assert _api_next(creator) == {"cents": 1000, "diamonds": 2000, "minimum_cents": 1000, "eligible": True}


def test_a_creator_whose_wallet_is_frozen_is_not_shown_eligible(payee):
    creator = payee(5_000)
    _freeze(creator)

    assert ELIGIBLE_TEXT not in _page(creator)
    assert _api_next(creator)["eligible"] is False
    assert next_payout(creator=creator).eligible is False
    assert not planning.create_payout_batch(period="2026-W02").batch.payouts.exists()


def test_a_suspended_creator_is_not_eligible(payee, staff):
    creator = payee(5_000)
    suspend_creator(creator_id=creator.pk, staff=staff, reason="Spam")
    creator.refresh_from_db()

    assert next_payout(creator=creator).eligible is False
    assert not planning.create_payout_batch(period="2026-W03").batch.payouts.exists()


def test_the_studio_calls_eligible_exactly_the_creators_the_batch_pays(payee, make_creator, staff):
    eligible = payee(2_000)
    under_minimum = payee(1_999)
    unverified = payee(5_000)
    accounts.set_payout_account_verified(
        account_id=unverified.payout_account.pk, staff=staff, verified=False, reason="Bank closed"
    )
    suspended = payee(5_000)
    suspend_creator(creator_id=suspended.pk, staff=staff, reason="Spam")
    frozen = payee(5_000)
    _freeze(frozen)
    no_account = make_creator()
    give_diamonds(no_account, 5_000)
    creators = [eligible, under_minimum, unverified, suspended, frozen, no_account]

    shown = {c.pk: next_payout(creator=c) for c in creators}
    batch = planning.create_payout_batch(period="2026-W04").batch

    paid = {p.creator_id: p for p in Payout.objects.filter(batch=batch)}
    assert {pk for pk, upcoming in shown.items() if upcoming.eligible} == set(paid) == {eligible.pk}
    assert (shown[eligible.pk].cents, shown[eligible.pk].diamonds) == (
        paid[eligible.pk].amount_cents,
        paid[eligible.pk].diamonds,
    )
    # Once planned, the payout is open: the studio no longer promises another one.
    assert next_payout(creator=eligible).eligible is False


def test_the_api_shows_what_is_payable_not_the_whole_balance(payee, payout_settings):
    payout_settings.EARNINGS_HOLD_DAYS = 7
    creator = payee(5_000)  # credited just now: all of it in the hold

    upcoming = _api_next(creator)

    assert (upcoming["cents"], upcoming["diamonds"], upcoming["eligible"]) == (0, 0, False)
