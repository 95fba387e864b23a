"""Chargeback laundering: coins bought with a stolen card, gifted to an accomplice creator and
paid out, then charged back. Earnings wait out the hold before a batch pays them, and a
refund or lost chargeback takes back from the creators what its coins funded and is unpaid;
what was paid already is the platform's reported loss. The ledger stays clean throughout."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from creators.models import Creator, Payout
from creators.payouts import errors as payout_errors
from creators.payouts.services import driving, planning
from creators.services import unlock_post
from drills.payments import dispute, refund_object, refunded_charge
from gifts.models import Gift
from gifts.services import send_gift
from tests.factories import give_diamonds
from wallet import earnings, selectors
from wallet.models import (
    Account,
    CoinPurchase,
    CoinReceivable,
    EarningsHold,
    EarningsReversal,
    PurchaseDispute,
    PurchaseRefund,
    Transaction,
    Unit,
)
from wallet.purchases.refunds import refund_purchase
from wallet.services import run_ledger_check, system_account_id
from wallet.tests.purchases import conftest as purchase_fixtures
from wallet.tests.purchases.conftest import deliver_3_times, event, stripe_client

# Coin purchases paid with a card at the session's localstripe (the purchase tests' fixtures).
paid_purchase = purchase_fixtures.buy
packages = purchase_fixtures.packages
stripe_js = purchase_fixtures.stripe_js
stripe_disputes = purchase_fixtures.stripe_disputes

_keys = itertools.count()
HOLD = datetime.timedelta(days=14)


@pytest.fixture
def hold_settings(payout_settings: Any) -> Any:
    payout_settings.EARNINGS_HOLD_DAYS = 14
    payout_settings.MINIMUM_PAYOUT_CENTS = 100
    return payout_settings


@pytest.fixture
def lion(db: None) -> Gift:
    return Gift.objects.create(name="Lion", coins=100, emoji="L")


def _gift(viewer: Any, creator: Creator, gift: Gift, post: Any, count: int = 1) -> None:
    send_gift(sender=viewer, gift=gift, count=count, post=post, idempotency_key=f"story-{next(_keys)}")


def _diamonds(creator: Creator) -> int:
    return selectors.diamond_balance(user_id=creator.user_id)


def _system(kind: str, unit: str = Unit.DIAMOND) -> int:
    return selectors.balance_of(account_id=system_account_id(kind, unit))


@pytest.mark.django_db(transaction=True)
def test_a_stolen_card_gifted_to_an_accomplice_and_charged_back_costs_the_platform_only_what_was_paid(
    client: Client,
    hold_settings,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
):
    thief = make_user()
    accomplice = payee(0)
    post = make_post(accomplice)
    stolen = paid_purchase(thief, 700)

    _gift(thief, accomplice, lion, post, count=3)  # 300 diamonds, old enough by the batch
    cleared = timezone.now()
    _gift(thief, accomplice, lion, post, count=2)  # 200 diamonds, still inside the hold
    assert _diamonds(accomplice) == 500

    # The weekly batch runs when the first gifts have cleared the hold and the others have not.
    run = driving.run_payout_batch(period="story", as_of=cleared + HOLD)
    payout = run.batch.payouts.get()
    assert (payout.status, payout.diamonds) == (Payout.Status.PAID, 300)
    assert _diamonds(accomplice) == 200

    # The card's owner disputes the charge and wins: Stripe sends `closed` (lost) three times.
    deliver_3_times(
        client, event("charge.dispute.closed", dispute(stolen, "lost", "dp_story"), event_id="evt_story")
    )

    stolen.refresh_from_db()
    assert stolen.status == CoinPurchase.Status.DISPUTE_LOST
    # The 200 unpaid diamonds the stolen coins funded are taken back, once.
    assert _diamonds(accomplice) == 0
    reversal = Transaction.objects.get(kind="earnings_reversal")
    assert reversal.reference == f"purchase:{stolen.pk}"
    assert list(reversal.entries.filter(account__owner=accomplice.user).values_list("amount", flat=True)) == [
        -200
    ]
    # The 300 already paid out are the platform's loss, reported to staff.
    losses = earnings.chargeback_losses()
    assert (losses.diamonds_reversed, losses.diamonds_lost) == (200, 300)
    assert losses.diamonds_lost == payout.diamonds
    # Nothing created: diamonds issued for the gifts are either paid out or un-issued again.
    assert _system(Account.Kind.DIAMOND_ISSUANCE) == -300
    assert _system(Account.Kind.PAID_OUT) == 300
    assert run_ledger_check().ok


def test_the_payouts_page_shows_held_earnings_with_the_day_they_become_payable(
    client: Client, hold_settings, make_user, fund, payee, make_post, lion
):
    fan = make_user()
    fund(fan, 1_000)
    creator = payee(0)
    _gift(fan, creator, lion, make_post(creator), count=4)

    client.force_login(creator.user)
    page = client.get("/studio/payouts/").content.decode()

    ledger_day = Transaction.objects.filter(kind="gift").get().created_at
    available = timezone.localtime(ledger_day + HOLD).date().isoformat()
    assert f"available on {available}" in page
    assert 'data-testid="payable-now">0<' in page
    shown = earnings.payable_earnings(
        account_id=Account.objects.get(owner=creator.user, kind=Account.Kind.CREATOR_DIAMONDS).pk
    )
    assert (shown.balance, shown.payable, shown.held) == (400, 0, 400)
    # After the hold the same diamonds are payable.
    later = earnings.payable_earnings(
        account_id=Account.objects.get(owner=creator.user, kind=Account.Kind.CREATOR_DIAMONDS).pk,
        as_of=ledger_day + HOLD + datetime.timedelta(seconds=1),
    )
    assert (later.payable, later.held, later.schedule) == (400, 0, [])


@pytest.mark.django_db(transaction=True)
def test_a_batch_skips_earnings_inside_the_hold_and_earnings_funded_by_an_open_dispute(
    client: Client,
    hold_settings,
    stripe_disputes,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
):
    thief, fan = make_user(), make_user()
    young = payee(0)
    disputed = payee(0)
    clean = payee(0)
    stolen = paid_purchase(thief, 700)
    honest = paid_purchase(fan, 700)
    _gift(thief, disputed, lion, make_post(disputed), count=5)
    _gift(fan, clean, lion, make_post(clean), count=5)
    deliver_3_times(client, event("charge.dispute.created", dispute(stolen, "needs_response", "dp_open")))
    cleared = timezone.now()
    give_diamonds(young, 5_000)  # earned after the others: inside the hold at the batch's time
    as_of = cleared + HOLD

    batch = planning.create_payout_batch(period="skip", as_of=as_of).batch

    assert list(batch.payouts.values_list("creator_id", "diamonds")) == [(clean.pk, 500)]
    assert honest.status == CoinPurchase.Status.PAID
    # Once the dispute is won (Stripe confirms it), the held diamonds are payable again.
    stripe_disputes["dp_open"] = dispute(stolen, "won", "dp_open")
    deliver_3_times(client, event("charge.dispute.closed", dispute(stolen, "won", "dp_open")))
    account = Account.objects.get(owner=disputed.user, kind=Account.Kind.CREATOR_DIAMONDS)
    assert earnings.payable_diamonds(account_ids=[account.pk], as_of=as_of) == {account.pk: 500}
    assert run_ledger_check().ok


def test_a_payout_planned_before_a_dispute_opened_is_skipped_and_moves_nothing(
    client: Client, hold_settings, make_user, paid_purchase, payee, make_post, lion
):
    thief = make_user()
    accomplice = payee(0)
    stolen = paid_purchase(thief, 700)
    _gift(thief, accomplice, lion, make_post(accomplice), count=5)
    after_hold = timezone.now() + HOLD + datetime.timedelta(seconds=1)
    batch = planning.create_payout_batch(period="late-dispute", as_of=after_hold).batch
    assert batch.payouts.get().diamonds == 500

    deliver_3_times(client, event("charge.dispute.created", dispute(stolen, "needs_response", "dp_late")))
    driving.process_payout_batch(batch_id=batch.pk)

    payout = batch.payouts.get()
    assert (payout.status, payout.failure_message) == (Payout.Status.SKIPPED, payout_errors.SKIP_DISPUTED)
    assert _diamonds(accomplice) == 500
    assert run_ledger_check().ok


def test_a_refund_reverses_what_each_purchase_funded_first_in_first_out(
    client: Client,
    hold_settings,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
):
    viewer = make_user()
    first_creator, second_creator = payee(0), payee(0)
    first = paid_purchase(viewer, 700)
    second = paid_purchase(viewer, 700)
    # 1,100 coins spent: the first gift takes the first purchase's 700 and 100 of the second's.
    _gift(viewer, first_creator, lion, make_post(first_creator), count=8)
    _gift(viewer, second_creator, lion, make_post(second_creator), count=3)

    deliver_3_times(client, event("charge.refunded", refunded_charge(second)))

    # The second purchase funded 100 diamonds of the first gift and all 300 of the second.
    assert _diamonds(first_creator) == 700
    assert _diamonds(second_creator) == 0
    rows = EarningsReversal.objects.filter(purchase=second)
    assert sorted(rows.values_list("diamonds_reversed", flat=True)) == [100, 300]
    assert not EarningsReversal.objects.filter(purchase=first).exists()
    assert sum(rows.values_list("diamonds_lost", flat=True)) == 0
    assert run_ledger_check().ok


def test_a_refund_takes_back_the_creator_share_of_a_premium_unlock_it_paid_for(
    client: Client, hold_settings, make_user, paid_purchase, payee, make_post
):
    viewer = make_user()
    creator = payee(0)
    purchase = paid_purchase(viewer, 700)
    post = make_post(creator, price=600)
    unlock_post(user=viewer, post_id=post.pk, idempotency_key="unlock-story")
    assert _diamonds(creator) == 300  # the creator's share of the 600 coins

    deliver_3_times(client, event("charge.refunded", refunded_charge(purchase)))

    assert _diamonds(creator) == 0
    row = EarningsReversal.objects.get(purchase=purchase)
    assert (row.coins, row.diamonds_reversed, row.diamonds_lost) == (600, 300, 0)
    assert run_ledger_check().ok


def test_the_statement_and_the_staff_dashboard_show_a_chargeback_reversal(
    client: Client,
    hold_settings,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
    staff,
):
    thief = make_user()
    accomplice = payee(0)
    stolen = paid_purchase(thief, 700)
    _gift(thief, accomplice, lion, make_post(accomplice), count=2)
    deliver_3_times(client, event("charge.dispute.closed", dispute(stolen, "lost", "dp_statement")))

    client.force_login(accomplice.user)
    statement = b"".join(client.get("/studio/statement.csv").streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(statement)))
    assert ["earnings_reversal", f"purchase:{stolen.pk}", "-200"] in [row[2:5] for row in rows]
    assert "Chargeback reversal" in client.get("/studio/").content.decode()

    client.force_login(staff)
    dashboard = client.get("/admin/dashboard/").content.decode()
    assert 'data-testid="chargeback-reversed">200<' in dashboard
    assert 'data-testid="chargeback-lost">0<' in dashboard


def _paid_to(creator: Creator) -> int:
    return sum(
        Payout.objects.filter(creator=creator, status=Payout.Status.PAID).values_list("diamonds", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_refund_that_stripe_reports_failed_gives_the_creators_back_what_its_reversal_took(
    client: Client,
    hold_settings,
    stripe_settings,
    staff,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
):
    viewer = make_user()
    creator = payee(0)
    post = make_post(creator)
    purchase = paid_purchase(viewer, 700)
    _gift(viewer, creator, lion, post, count=3)  # 300 diamonds, old enough by the first batch
    cleared = timezone.now()
    _gift(viewer, creator, lion, post, count=2)  # 200 diamonds, still inside the hold
    driving.run_payout_batch(period="before-refund", as_of=cleared + HOLD)
    assert (_paid_to(creator), _diamonds(creator)) == (300, 200)

    refund_purchase(purchase_id=purchase.pk, staff_user=make_user(is_staff=True), reason="Requested")
    # The refund found 500 coins spent: the 200 unpaid diamonds are taken, the 300 paid are a loss.
    assert _diamonds(creator) == 0
    losses = earnings.chargeback_losses()
    assert (losses.diamonds_reversed, losses.diamonds_lost) == (200, 300)

    # The bank rejects the refund: Stripe marks it failed (localstripe takes the status as given).
    not_a_stripe_param: Any = {"status": "failed"}
    failed = stripe_client(stripe_settings).v1.refunds.update(
        PurchaseRefund.objects.get().stripe_refund_id, params=not_a_stripe_param
    )
    assert failed.status == "failed"
    for kind in ("charge.refund.updated", "refund.failed", "charge.refund.updated"):
        deliver_3_times(client, event(kind, refund_object(failed)))

    # The refund never happened: the creator has the 200 diamonds back, once, referencing the purchase.
    assert _diamonds(creator) == 200
    restores = Transaction.objects.filter(kind="earnings_restore")
    assert list(restores.values_list("reference", flat=True)) == [f"purchase:{purchase.pk}"]
    assert list(
        restores.get().entries.filter(account__owner=creator.user).values_list("amount", flat=True)
    ) == [200]
    # Nothing was lost: the report no longer counts the reversal or its loss.
    losses = earnings.chargeback_losses()
    assert (losses.reversals, losses.diamonds_reversed, losses.diamonds_lost) == (0, 0, 0)
    client.force_login(staff)
    dashboard = client.get("/admin/dashboard/").content.decode()
    assert 'data-testid="chargeback-lost">0<' in dashboard
    undone = client.get("/admin/wallet/earningsreversal/", {"undone_at__isempty": "0"})
    assert undone.status_code == 200
    assert f"refund-{purchase.pk}-" in undone.content.decode()
    client.logout()
    # The viewer is back where they were: 200 coins left, nothing owed, wallet usable.
    assert selectors.coin_balance(user_id=viewer.pk) == 200
    assert sum(r.outstanding for r in CoinReceivable.objects.filter(user=viewer)) == 0
    assert not Account.objects.get(owner=viewer, kind=Account.Kind.USER_COINS).frozen
    # Nothing created: the 500 diamonds the gifts issued are paid out or on the creator's balance.
    assert _system(Account.Kind.DIAMOND_ISSUANCE) == -500
    assert _system(Account.Kind.PAID_OUT) == 300
    assert _system(Account.Kind.COIN_ISSUANCE, Unit.COIN) == -700 - sum(
        Account.objects.filter(kind=Account.Kind.USER_COINS)
        .exclude(owner=viewer)
        .values_list("balance", flat=True)
    )

    # The restored diamonds keep their place in the hold: a batch pays them only once it has cleared.
    driving.run_payout_batch(period="inside-hold", as_of=timezone.now())
    assert (_paid_to(creator), _diamonds(creator)) == (300, 200)
    driving.run_payout_batch(period="after-hold", as_of=timezone.now() + HOLD)
    assert (_paid_to(creator), _diamonds(creator)) == (500, 0)
    assert run_ledger_check().ok


def _fail_the_refund(client: Client, stripe_settings: Any) -> None:
    # The bank rejects the refund: Stripe marks it failed (localstripe takes the status as given).
    not_a_stripe_param: Any = {"status": "failed"}
    failed = stripe_client(stripe_settings).v1.refunds.update(
        PurchaseRefund.objects.get().stripe_refund_id, params=not_a_stripe_param
    )
    assert failed.status == "failed"
    deliver_3_times(client, event("refund.failed", refund_object(failed)))


@pytest.mark.django_db(transaction=True)
def test_when_one_of_two_refunds_fails_the_creator_gives_back_only_what_the_other_refund_funded(
    client: Client,
    hold_settings,
    stripe_settings,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
):
    viewer = make_user()
    creator = payee(0)
    purchase = paid_purchase(viewer, 700)
    assert purchase.amount_cents == 999
    _gift(viewer, creator, lion, make_post(creator), count=5)  # 500 coins spent, 200 left
    at_stripe = stripe_client(stripe_settings)
    # A refund of 249 cents made at Stripe's dashboard (175 coins: the viewer still holds them) ...
    first = at_stripe.v1.refunds.create(
        params={"payment_intent": purchase.stripe_payment_intent_id, "amount": 249}
    )
    deliver_3_times(client, event("charge.refunded", refunded_charge(purchase) | {"amount_refunded": 249}))
    assert (_diamonds(creator), selectors.coin_balance(user_id=viewer.pk)) == (500, 25)
    # ... then staff refund the other 750: the 500 spent coins' diamonds are taken back.
    refund_purchase(purchase_id=purchase.pk, staff_user=make_user(is_staff=True), reason="Requested")
    assert _diamonds(creator) == 0

    not_a_stripe_param: Any = {"status": "failed"}
    failed = at_stripe.v1.refunds.update(first.id, params=not_a_stripe_param)
    for _ in range(2):
        deliver_3_times(client, event("refund.failed", refund_object(failed)))

    # 750 of 999 cents stay refunded: 526 coins, 326 of them spent, so 326 diamonds stay taken.
    purchase.refresh_from_db()
    assert (purchase.refunded_cents, purchase.refunded_coins) == (750, 526)
    assert _diamonds(creator) == 174
    assert sum(r.outstanding for r in CoinReceivable.objects.filter(user=viewer)) == 326
    losses = earnings.chargeback_losses()
    assert (losses.diamonds_reversed, losses.diamonds_lost) == (326, 0)
    assert _system(Account.Kind.DIAMOND_ISSUANCE) == -174
    # The diamonds left to the creator are payable once they clear the hold, and no more.
    hold_settings.MINIMUM_PAYOUT_CENTS = 50
    driving.run_payout_batch(period="after-partial-failure", as_of=timezone.now() + HOLD)
    assert (_paid_to(creator), _diamonds(creator)) == (174, 0)
    assert run_ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_coins_a_failed_refund_gave_back_still_count_as_the_purchase_s_when_it_is_charged_back(
    client: Client,
    hold_settings,
    stripe_settings,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
):
    thief = make_user()
    first, accomplice = payee(0), payee(0)
    stolen = paid_purchase(thief, 700)
    _gift(thief, first, lion, make_post(first), count=2)
    refund_purchase(purchase_id=stolen.pk, staff_user=make_user(is_staff=True), reason="Requested")
    _fail_the_refund(client, stripe_settings)
    assert (selectors.coin_balance(user_id=thief.pk), _diamonds(first)) == (500, 200)
    # The 500 coins given back are the stolen purchase's coins: gifting them launders nothing.
    _gift(thief, accomplice, lion, make_post(accomplice), count=5)

    deliver_3_times(client, event("charge.dispute.closed", dispute(stolen, "lost", "dp_after_failure")))

    assert (_diamonds(first), _diamonds(accomplice)) == (0, 0)
    run = driving.run_payout_batch(period="after-chargeback", as_of=timezone.now() + HOLD)
    assert not run.batch.payouts.filter(status=Payout.Status.PAID).exists()
    losses = earnings.chargeback_losses()
    assert (losses.diamonds_reversed, losses.diamonds_lost) == (700, 0)
    assert _system(Account.Kind.DIAMOND_ISSUANCE) == 0
    assert run_ledger_check().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "first_event,status",
    [
        ("charge.dispute.updated", "needs_response"),
        ("charge.dispute.updated", "warning_under_review"),
        ("charge.dispute.funds_withdrawn", "needs_response"),
        ("charge.dispute.created", "needs_response"),
    ],
)
def test_a_dispute_first_seen_in_any_event_holds_what_its_coins_funded_from_every_batch(
    client: Client,
    hold_settings,
    make_user,
    paid_purchase,
    payee,
    make_post,
    lion,
    first_event,
    status,
):
    thief, fan = make_user(), make_user()
    accomplice, clean = payee(0), payee(0)
    stolen = paid_purchase(thief, 700)
    paid_purchase(fan, 700)
    _gift(thief, accomplice, lion, make_post(accomplice), count=5)
    _gift(fan, clean, lion, make_post(clean), count=5)

    deliver_3_times(client, event(first_event, dispute(stolen, status, "dp_first")))

    run = driving.run_payout_batch(period="first-seen", as_of=timezone.now() + HOLD)
    # Only the creator no open dispute touches is paid; the disputed diamonds stay on the balance.
    assert list(run.batch.payouts.values_list("creator_id", "status", "diamonds")) == [
        (clean.pk, Payout.Status.PAID, 500)
    ]
    assert (_paid_to(accomplice), _diamonds(accomplice)) == (0, 500)
    opened = PurchaseDispute.objects.get(stripe_dispute_id="dp_first")
    assert opened.status == PurchaseDispute.Status.OPEN
    assert sum(EarningsHold.objects.filter(dispute=opened).values_list("diamonds", flat=True)) == 500
    assert run_ledger_check().ok
