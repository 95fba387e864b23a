"""The staff report of chargeback losses: the dashboard gives the platform's loss in diamonds and
in cents at the diamond cash rate, and the earnings reversal list in admin shows each purchase,
creator, diamonds reversed and lost and the cents lost, filterable by date. Finance reads both."""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from creators.models import Payout
from creators.payouts.services import driving
from creators.tests.payouts.test_chargebacks import _gift
from drills.payments import dispute
from gifts.models import Gift
from wallet import earnings
from wallet.models import CoinPurchase, EarningsReversal, User
from wallet.moderation.groups import FINANCE
from wallet.services import run_ledger_check
from wallet.tests.purchases import conftest as purchase_fixtures
from wallet.tests.purchases.conftest import deliver_3_times, event

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
    payout = driving.run_payout_batch(period="report", as_of=cleared + HOLD).batch.payouts.get()
    assert (payout.status, payout.diamonds, payout.amount_cents) == (Payout.Status.PAID, 300, 150)
    deliver_3_times(
        client, event("charge.dispute.closed", dispute(stolen, "lost", "dp_report"), event_id="evt_report")
    )
    stolen.refresh_from_db()
    assert stolen.status == CoinPurchase.Status.DISPUTE_LOST
    return stolen, accomplice, payout


def _cell(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}">') + len(f'data-testid="{testid}">')
    return page[start : page.index("<", start)]


def _rows(page: str, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The changelist's rows as the text of the named columns."""
    found = []
    for row in page.split("<tr")[1:]:
        cells = [re.search(rf'class="field-{name}[^"]*">(?:<a [^>]*>)?([^<]*)<', row) for name in columns]
        if all(cells):
            found.append(tuple(cell.group(1).strip() for cell in cells if cell))
    return found


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


@pytest.mark.django_db(transaction=True)
def test_finance_reads_each_reversal_with_its_purchase_creator_diamonds_and_cents_lost_filtered_by_date(
    client: Client, finance_client: Client, hold_settings, make_user, paid_purchase, payee, make_post, lion
):
    stolen, accomplice, _ = _laundered(client, make_user, paid_purchase, payee, make_post, lion)
    # One row per credit the stolen coins funded: the older gift was paid out, the newer was not.
    lost, reversed_ = EarningsReversal.objects.order_by("credit_created_at")
    assert (lost.diamonds_reversed, lost.diamonds_lost) == (0, 300)
    assert (reversed_.diamonds_reversed, reversed_.diamonds_lost) == (200, 0)

    listing = finance_client.get(REVERSALS)
    assert listing.status_code == 200
    page = html.unescape(listing.content.decode())
    for column in ("Purchase", "Creator", "Diamonds reversed", "Diamonds lost", "Cents lost"):
        assert f">{column}<" in page, column
    columns = ("purchase", "creator", "diamonds_reversed", "diamonds_lost", "cents_lost")
    assert sorted(_rows(page, columns)) == sorted(
        [
            (str(stolen), str(accomplice.user), "0", "300", "$1.50"),
            (str(stolen), str(accomplice.user), "200", "0", "$0.00"),
        ]
    )
    assert "Accomplice" in str(accomplice.user)

    assert "?created_at__gte=" in page  # the list offers a date filter
    # The date filter's links: local midnights, as the filter itself writes them.
    day = timezone.localtime(lost.created_at).replace(hour=0, minute=0, second=0, microsecond=0)
    on_the_day = finance_client.get(
        REVERSALS, {"created_at__gte": str(day), "created_at__lt": str(day + datetime.timedelta(days=1))}
    )
    the_day_before = finance_client.get(
        REVERSALS, {"created_at__gte": str(day - datetime.timedelta(days=1)), "created_at__lt": str(day)}
    )
    assert set(on_the_day.context["cl"].result_list) == {lost, reversed_}
    assert list(the_day_before.context["cl"].result_list) == []

    # The holds that kept the disputed diamonds out of the batch are readable too, not editable.
    assert finance_client.get("/admin/wallet/earningshold/").status_code == 200
    assert finance_client.get(f"{REVERSALS}{lost.pk}/change/").status_code == 200
    assert finance_client.post(f"{REVERSALS}{lost.pk}/delete/", {"post": "yes"}).status_code == 403
    assert EarningsReversal.objects.filter(pk=lost.pk).exists()
    assert run_ledger_check().ok
