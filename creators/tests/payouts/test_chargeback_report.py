"""The staff report of chargeback losses: the dashboard gives the platform's loss in diamonds and
in cents at the diamond cash rate, and the earnings reversal list in admin shows each purchase,
creator, diamonds reversed and lost and the cents lost, filterable by date. Finance reads both."""

from __future__ import annotations

import datetime
import html
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from creators.models import Payout
from creators.payouts import services
from creators.tests.payouts.test_chargebacks import _deliver_3_times, _dispute, _gift
from gifts.models import Gift
from wallet import earnings
from wallet.models import CoinPurchase, User
from wallet.moderation.groups import FINANCE
from wallet.services import run_ledger_check
from wallet.tests.purchases import conftest as purchase_fixtures
from wallet.tests.purchases.conftest import event

paid_purchase = purchase_fixtures.buy
packages = purchase_fixtures.packages
stripe_js = purchase_fixtures.stripe_js

HOLD = datetime.timedelta(days=14)
REVERSALS = "/admin/wallet/earningsreversal/"


@pytest.fixture
def hold_settings(payout_settings: Any) -> Any:
    payout_settings.EARNINGS_HOLD_DAYS = 14
    payout_settings.MINIMUM_PAYOUT_CENTS = 100
    payout_settings.DIAMOND_VALUE_MILLICENTS = 500
    return payout_settings


@pytest.fixture
def lion(db: None) -> Gift:
    return Gift.objects.create(name="Lion", coins=100, emoji="L")


@pytest.fixture
def finance_client(make_user: Any) -> Client:
    staff = make_user(is_staff=True, role=User.Role.STAFF, display_name="Fin Report")
    staff.groups.add(Group.objects.get(name=FINANCE))
    client = Client()
    client.force_login(staff)
    return client


def _laundered(client: Client, make_user: Any, paid_purchase: Any, payee: Any, make_post: Any, lion: Gift):
    """Stolen coins gifted to an accomplice: 300 diamonds paid out, 200 unpaid, then the charge is
    disputed and lost (signed webhooks, each delivered three times)."""
    thief = make_user()
    accomplice = payee(0, display_name="Accomplice")
    post = make_post(accomplice)
    stolen = paid_purchase(thief, 700)
    _gift(thief, accomplice, lion, post, count=3)
    cleared = timezone.now()
    _gift(thief, accomplice, lion, post, count=2)
    payout = services.run_payout_batch(period="report", as_of=cleared + HOLD).batch.payouts.get()
    assert (payout.status, payout.diamonds, payout.amount_cents) == (Payout.Status.PAID, 300, 150)
    _deliver_3_times(
        client, event("charge.dispute.closed", _dispute(stolen, "lost", "dp_report"), event_id="evt_report")
    )
    stolen.refresh_from_db()
    assert stolen.status == CoinPurchase.Status.DISPUTE_LOST
    return stolen, accomplice, payout


def _cell(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}">') + len(f'data-testid="{testid}">')
    return page[start : page.index("<", start)]


@pytest.mark.django_db(transaction=True)
def test_finance_sees_the_platforms_chargeback_loss_in_cents_equal_to_what_was_paid_out(
    client: Client, finance_client: Client, hold_settings, make_user, paid_purchase, payee, make_post, lion
):
    _, _, payout = _laundered(client, make_user, paid_purchase, payee, make_post, lion)

    losses = earnings.chargeback_losses()
    assert (losses.diamonds_reversed, losses.diamonds_lost, losses.cents_lost) == (200, 300, 150)
    assert losses.cents_lost == payout.amount_cents

    page = html.unescape(finance_client.get("/admin/dashboard/").content.decode())
    assert (_cell(page, "chargeback-reversed"), _cell(page, "chargeback-lost")) == ("200", "300")
    assert _cell(page, "chargeback-lost-cents") == "$1.50"
    assert run_ledger_check().ok
