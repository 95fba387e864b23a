"""Refunds and chargebacks: coins taken back once, spent coins owed (receivable + frozen
wallet, never a negative balance), chargebacks won given back, the ledger always clean."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from drills.payments import dispute, refund_object, refunded_charge
from wallet import errors, selectors, services
from wallet.models import Account, CoinPurchase, CoinReceivable, PurchaseDispute, PurchaseRefund, Transaction
from wallet.purchases.refunds import refund_purchase
from wallet.services import run_ledger_check
from wallet.tests.purchases.conftest import deliver_3_times, event, stripe_client

_spends = itertools.count()
# The one dispute the stand-in for Stripe knows in these tests.
DISPUTE_ID = "dp_test_1"


def _spend(user: Any, creator: Any, coins: int) -> None:
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approving the creator does
    services.spend_coins(
        spender=user,
        coins=coins,
        creator_user_id=creator.pk,
        diamonds=coins // 2,
        kind=Transaction.Kind.GIFT,
        idempotency_key=f"test-spend-{next(_spends)}",
    )


def _wallet(user: Any) -> Account:
    return Account.objects.get(owner=user, kind=Account.Kind.USER_COINS)


def _owed(user: Any) -> int:
    return sum(r.outstanding for r in CoinReceivable.objects.filter(user=user))


@pytest.mark.parametrize("case", ["refund", "dispute lost", "dispute won"])
@pytest.mark.parametrize("spent", [0, 350, 700], ids=["unspent", "half spent", "fully spent"])
def test_refunds_and_chargebacks_take_coins_back_once(
    client: Client, make_user, buy, stripe_disputes, case, spent
):
    user, creator = make_user(), make_user()
    purchase = buy(user, 700)
    if spent:
        _spend(user, creator, spent)
    left = 700 - spent

    if case == "refund":
        deliver_3_times(client, event("charge.refunded", refunded_charge(purchase, refunded=999)))
        # Stripe may announce the same total again under a new event id: still nothing more.
        deliver_3_times(client, event("charge.refunded", refunded_charge(purchase, refunded=999)))
    else:
        deliver_3_times(
            client, event("charge.dispute.created", dispute(purchase, "needs_response", DISPUTE_ID))
        )
        closed = "won" if case == "dispute won" else "lost"
        stripe_disputes[DISPUTE_ID] = dispute(purchase, closed, DISPUTE_ID)
        deliver_3_times(client, event("charge.dispute.closed", dispute(purchase, closed, DISPUTE_ID)))
        # A late `created` after the close changes nothing.
        deliver_3_times(
            client, event("charge.dispute.created", dispute(purchase, "needs_response", DISPUTE_ID))
        )

    purchase.refresh_from_db()
    wallet = _wallet(user)
    clawbacks = Transaction.objects.filter(
        kind__in=["refund", "dispute"], reference=f"purchase:{purchase.pk}"
    )
    assert clawbacks.count() == 1
    if case == "dispute won":
        assert selectors.coin_balance(user_id=user.pk) == left
        assert _owed(user) == 0
        assert not wallet.frozen
        assert Transaction.objects.filter(kind="dispute_reversal").count() == 1
        assert purchase.status == CoinPurchase.Status.PAID
        assert PurchaseDispute.objects.get().status == "won"
    else:
        assert selectors.coin_balance(user_id=user.pk) == 0
        assert _owed(user) == spent
        assert wallet.frozen is bool(spent)
        assert purchase.status == ("refunded" if case == "refund" else "dispute_lost")
    assert run_ledger_check().ok


def test_a_wallet_that_owes_coins_cannot_spend_and_its_next_purchase_covers_the_debt(
    client: Client, make_user, buy
):
    user, creator = make_user(), make_user()
    first = buy(user, 700)
    _spend(user, creator, 700)
    deliver_3_times(client, event("charge.refunded", refunded_charge(first, refunded=999)))
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (0, 700, True)
    with pytest.raises(errors.AccountFrozen):
        services.spend_coins(
            spender=user, coins=1, creator_user_id=creator.pk, diamonds=0, kind="gift", idempotency_key="x-1"
        )

    buy(user, 350)  # frozen wallets can still buy: the coins pay the debt first
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (0, 350, True)
    buy(user, 1400)
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (1050, 0, False)
    assert all(r.settled_at for r in CoinReceivable.objects.filter(user=user))
    assert run_ledger_check().ok


def test_a_staff_freeze_for_another_reason_stays_after_the_debt_is_covered(client: Client, make_user, buy):
    user, creator = make_user(), make_user()
    first = buy(user, 70)
    _spend(user, creator, 70)
    services.set_frozen(account=_wallet(user), frozen=True, reason="Under review by support")
    deliver_3_times(client, event("charge.refunded", refunded_charge(first, refunded=99)))
    buy(user, 350)
    assert _owed(user) == 0
    wallet = _wallet(user)
    assert (wallet.frozen, wallet.frozen_reason) == (True, "Under review by support")


def test_a_chargeback_won_returns_what_was_taken_including_the_debt_already_paid(
    client: Client, make_user, buy, stripe_disputes
):
    user, creator = make_user(), make_user()
    disputed = buy(user, 700)
    _spend(user, creator, 500)
    deliver_3_times(client, event("charge.dispute.created", dispute(disputed, "needs_response", DISPUTE_ID)))
    assert (selectors.coin_balance(user_id=user.pk), _owed(user)) == (0, 500)
    buy(user, 350)  # pays 350 of the 500 owed
    assert (selectors.coin_balance(user_id=user.pk), _owed(user)) == (0, 150)
    stripe_disputes[DISPUTE_ID] = dispute(disputed, "won", DISPUTE_ID)
    deliver_3_times(client, event("charge.dispute.closed", dispute(disputed, "won", DISPUTE_ID)))
    # Back to where the viewer was without the chargeback: 700 - 500 spent + 350 bought.
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (550, 0, False)
    assert run_ledger_check().ok


def test_chargeback_events_out_of_order(client: Client, make_user, buy, stripe_disputes):
    user = make_user()
    won_first = buy(user, 70)
    stripe_disputes["dp_won_first"] = dispute(won_first, "won", "dp_won_first")
    deliver_3_times(client, event("charge.dispute.closed", dispute(won_first, "won", "dp_won_first")))
    deliver_3_times(
        client, event("charge.dispute.created", dispute(won_first, "needs_response", "dp_won_first"))
    )
    assert selectors.coin_balance(user_id=user.pk) == 70
    assert not Transaction.objects.filter(kind="dispute").exists()

    lost_first = buy(user, 350)
    deliver_3_times(client, event("charge.dispute.closed", dispute(lost_first, "lost", "dp_lost_first")))
    deliver_3_times(
        client, event("charge.dispute.created", dispute(lost_first, "needs_response", "dp_lost_first"))
    )
    assert selectors.coin_balance(user_id=user.pk) == 70
    assert Transaction.objects.filter(kind="dispute").count() == 1
    assert run_ledger_check().ok


def test_partial_refunds_take_back_their_share_once_in_any_order(client: Client, make_user, buy):
    user = make_user()
    purchase = buy(user, 700)
    later = event("charge.refunded", refunded_charge(purchase, refunded=999))
    earlier = event("charge.refunded", refunded_charge(purchase, refunded=500))
    deliver_3_times(client, earlier)
    purchase.refresh_from_db()
    # 500 of 999 cents buys 350.35 coins: 351 come back (rounded up).
    assert (purchase.refunded_coins, purchase.status) == (351, "partially_refunded")
    assert selectors.coin_balance(user_id=user.pk) == 349
    deliver_3_times(client, later)
    deliver_3_times(client, earlier)
    purchase.refresh_from_db()
    assert (purchase.refunded_cents, purchase.refunded_coins, purchase.status) == (999, 700, "refunded")
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert Transaction.objects.filter(kind="refund").count() == 2


def test_tampered_refund_and_dispute_events_take_nothing(client: Client, make_user, buy):
    user = make_user()
    purchase = buy(user, 700)
    deliver_3_times(
        client, event("charge.refunded", {**refunded_charge(purchase, refunded=999), "amount": 5})
    )
    deliver_3_times(
        client, event("charge.refunded", {**refunded_charge(purchase, refunded=999), "currency": "eur"})
    )
    unknown = {**refunded_charge(purchase, refunded=999), "id": "ch_unknown", "payment_intent": "pi_unknown"}
    deliver_3_times(client, event("charge.refunded", unknown))
    deliver_3_times(
        client,
        event(
            "charge.dispute.created", {**dispute(purchase, "needs_response", DISPUTE_ID), "amount": 10_000}
        ),
    )
    assert selectors.coin_balance(user_id=user.pk) == 700
    assert not Transaction.objects.filter(kind__in=["refund", "dispute"]).exists()


def _stripe_refunds(stripe_settings: Any, charge_id: str) -> list[int]:
    client = stripe_client(stripe_settings)
    return [refund.amount for refund in client.v1.refunds.list(params={"charge": charge_id}).data]


def test_staff_refund_from_admin_asks_a_reason_refunds_at_stripe_once_and_takes_coins_back(
    make_user, buy, stripe_settings
):
    user, creator = make_user(), make_user()
    purchase = buy(user, 700)
    _spend(user, creator, 200)
    staff = make_user(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    url = "/admin/wallet/coinpurchase/"
    action = {"action": "refund_purchases", "_selected_action": [purchase.pk]}

    page = admin.post(url, action)
    assert page.status_code == 200 and "Refund purchases" in page.content.decode()
    no_reason = admin.post(url, {**action, "apply": "Refund", "reason": "  "})
    assert errors.REFUND_REASON_REQUIRED in no_reason.content.decode()
    assert not PurchaseRefund.objects.exists()

    done = admin.post(url, {**action, "apply": "Refund", "reason": "Bought by mistake"}, follow=True)
    assert f"Purchase #{purchase.pk} refunded." in done.content.decode()
    again = admin.post(url, {**action, "apply": "Refund", "reason": "Double click"}, follow=True)
    assert errors.PURCHASE_NOT_REFUNDABLE in again.content.decode()

    refund = PurchaseRefund.objects.get()
    assert (refund.amount_cents, refund.reason, refund.requested_by) == (999, "Bought by mistake", staff)
    assert _stripe_refunds(stripe_settings, purchase.stripe_charge_id) == [999]
    purchase.refresh_from_db()
    assert (purchase.status, purchase.refunded_coins) == ("refunded", 700)
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (0, 200, True)

    # Stripe's own charge.refunded for that refund, delivered 3 times, takes nothing more.
    deliver_3_times(Client(), event("charge.refunded", refunded_charge(purchase, refunded=999)))
    assert Transaction.objects.filter(kind="refund").count() == 1
    assert _owed(user) == 200
    assert run_ledger_check().ok


def test_refund_service_refuses_unpaid_purchases_and_empty_reasons(make_user, packages, stripe_settings):
    from wallet.tests.purchases.conftest import start

    user = make_user()
    staff = make_user(is_staff=True)
    purchase = start(user, 70)
    with pytest.raises(errors.InvalidRequest, match=errors.REFUND_REASON_REQUIRED):
        refund_purchase(purchase_id=purchase.pk, staff_user=staff, reason="")
    with pytest.raises(errors.WrongState, match=errors.PURCHASE_NOT_REFUNDABLE):
        refund_purchase(purchase_id=purchase.pk, staff_user=staff, reason="test")


def test_a_chargeback_before_the_credit_is_applied_when_the_purchase_is_credited(
    client: Client, make_user, paid_at_stripe_only: Callable[..., list[CoinPurchase]]
):
    user = make_user()
    (purchase,) = paid_at_stripe_only([user], 1)
    intent_only = CoinPurchase(
        pk=purchase.pk,
        stripe_payment_intent_id=purchase.stripe_payment_intent_id,
        stripe_charge_id="",
        amount_cents=purchase.amount_cents,
        currency=purchase.currency,
    )
    deliver_3_times(
        client, event("charge.dispute.created", dispute(intent_only, "needs_response", "dp_early"))
    )
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert PurchaseDispute.objects.get().clawed_back_at is None
    # The page's re-fetch credits it; the chargeback recorded earlier takes the coins back.
    page = Client()
    page.force_login(user)
    assert page.get(f"/api/v1/coins/purchases/{purchase.pk}/").json()["status"] == "disputed"
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert Transaction.objects.filter(kind="dispute").count() == 1
    assert run_ledger_check().ok


def _deliver_each_3_times(client: Client, type: str, obj: dict[str, Any]) -> None:
    # Stripe may also send the same change again under a new event id.
    for _ in range(2):
        deliver_3_times(client, event(type, obj))


def _dispute_row() -> PurchaseDispute:
    return PurchaseDispute.objects.get()


def test_an_inquiry_that_escalates_to_a_chargeback_takes_the_coins_once_when_stripe_withdraws_them(
    client: Client, make_user, buy
):
    user, creator = make_user(), make_user()
    purchase = buy(user, 700)
    _spend(user, creator, 350)
    _deliver_each_3_times(
        client, "charge.dispute.created", dispute(purchase, "warning_needs_response", DISPUTE_ID)
    )
    for status in ("warning_under_review", "needs_response", "under_review"):
        _deliver_each_3_times(client, "charge.dispute.updated", dispute(purchase, status, DISPUTE_ID))
        # Recorded, and no coins move while the dispute is only changing status.
        assert (_dispute_row().stripe_status, _dispute_row().status) == (status, "open")
        assert selectors.coin_balance(user_id=user.pk) == 350
        assert not Transaction.objects.filter(kind="dispute").exists()

    _deliver_each_3_times(
        client, "charge.dispute.funds_withdrawn", dispute(purchase, "under_review", DISPUTE_ID)
    )
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (0, 350, True)
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.DISPUTED

    _deliver_each_3_times(client, "charge.dispute.closed", dispute(purchase, "lost", DISPUTE_ID))
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.DISPUTE_LOST
    assert Transaction.objects.filter(kind="dispute", reference=f"purchase:{purchase.pk}").count() == 1
    assert (selectors.coin_balance(user_id=user.pk), _owed(user)) == (0, 350)
    assert run_ledger_check().ok


def test_a_chargeback_whose_funds_are_reinstated_gives_the_coins_back_once(
    client: Client, make_user, buy, stripe_disputes
):
    user, creator = make_user(), make_user()
    purchase = buy(user, 700)
    _spend(user, creator, 200)
    _deliver_each_3_times(
        client, "charge.dispute.created", dispute(purchase, "warning_needs_response", DISPUTE_ID)
    )
    _deliver_each_3_times(
        client, "charge.dispute.funds_withdrawn", dispute(purchase, "needs_response", DISPUTE_ID)
    )
    assert (selectors.coin_balance(user_id=user.pk), _owed(user)) == (0, 200)

    stripe_disputes[DISPUTE_ID] = dispute(purchase, "won", DISPUTE_ID)
    _deliver_each_3_times(client, "charge.dispute.funds_reinstated", dispute(purchase, "won", DISPUTE_ID))
    _deliver_each_3_times(client, "charge.dispute.closed", dispute(purchase, "won", DISPUTE_ID))
    _deliver_each_3_times(client, "charge.dispute.updated", dispute(purchase, "won", DISPUTE_ID))

    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (500, 0, False)
    assert Transaction.objects.filter(kind="dispute").count() == 1
    assert Transaction.objects.filter(kind="dispute_reversal").count() == 1
    assert _dispute_row().status == "won"
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.PAID
    assert run_ledger_check().ok


def test_a_dispute_update_that_says_lost_takes_the_coins_as_a_close_would(client: Client, make_user, buy):
    user = make_user()
    purchase = buy(user, 700)
    _deliver_each_3_times(client, "charge.dispute.updated", dispute(purchase, "lost", DISPUTE_ID))
    assert selectors.coin_balance(user_id=user.pk) == 0
    _deliver_each_3_times(client, "charge.dispute.closed", dispute(purchase, "lost", DISPUTE_ID))
    assert selectors.coin_balance(user_id=user.pk) == 0
    assert Transaction.objects.filter(kind="dispute").count() == 1
    assert _dispute_row().status == "lost"
    assert run_ledger_check().ok


def test_a_refund_that_stripe_reports_failed_gives_the_coins_back_once(
    client: Client, make_user, buy, stripe_settings
):
    user, creator = make_user(), make_user()
    purchase = buy(user, 700)
    _spend(user, creator, 200)
    staff = make_user(is_staff=True)
    refund_purchase(purchase_id=purchase.pk, staff_user=staff, reason="Bought by mistake")
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (0, 200, True)
    stripe_refund_id = PurchaseRefund.objects.get().stripe_refund_id
    # The bank rejects the refund: Stripe marks it failed (localstripe takes the status as given).
    not_a_stripe_param: Any = {"status": "failed"}
    failed = stripe_client(stripe_settings).v1.refunds.update(stripe_refund_id, params=not_a_stripe_param)
    assert failed.status == "failed"

    _deliver_each_3_times(client, "charge.refund.updated", refund_object(failed))
    _deliver_each_3_times(client, "refund.failed", refund_object(failed))

    # Back where the viewer was before the refund: 700 bought, 200 spent, nothing owed.
    assert (selectors.coin_balance(user_id=user.pk), _owed(user), _wallet(user).frozen) == (500, 0, False)
    purchase.refresh_from_db()
    assert (purchase.status, purchase.refunded_cents, purchase.refunded_coins) == ("paid", 0, 0)
    assert Transaction.objects.filter(kind="refund", reference=f"purchase:{purchase.pk}").count() == 1
    assert (
        Transaction.objects.filter(kind="refund_reversal", reference=f"purchase:{purchase.pk}").count() == 1
    )
    assert run_ledger_check().ok


def test_a_signed_refund_failure_for_a_refund_stripe_paid_gives_nothing_back(
    client: Client, make_user, buy, stripe_settings
):
    user = make_user()
    purchase = buy(user, 700)
    refund_purchase(purchase_id=purchase.pk, staff_user=make_user(is_staff=True), reason="Requested")
    paid_back = stripe_client(stripe_settings).v1.refunds.retrieve(
        PurchaseRefund.objects.get().stripe_refund_id
    )
    assert paid_back.status == "succeeded"

    _deliver_each_3_times(client, "refund.failed", {**refund_object(paid_back), "status": "failed"})

    assert selectors.coin_balance(user_id=user.pk) == 0
    purchase.refresh_from_db()
    assert purchase.status == CoinPurchase.Status.REFUNDED
    assert not Transaction.objects.filter(kind="refund_reversal").exists()
    assert run_ledger_check().ok


@pytest.mark.parametrize("stripe_says", ["under_review", "lost", None], ids=["open", "lost", "unknown"])
def test_a_signed_dispute_win_that_stripe_does_not_confirm_gives_nothing_back(
    client: Client, make_user, buy, stripe_disputes, stripe_says
):
    user = make_user()
    purchase = buy(user, 700)
    deliver_3_times(client, event("charge.dispute.created", dispute(purchase, "needs_response", DISPUTE_ID)))
    assert selectors.coin_balance(user_id=user.pk) == 0
    if stripe_says is not None:
        stripe_disputes[DISPUTE_ID] = dispute(purchase, stripe_says, DISPUTE_ID)

    _deliver_each_3_times(client, "charge.dispute.closed", dispute(purchase, "won", DISPUTE_ID))
    _deliver_each_3_times(client, "charge.dispute.funds_reinstated", dispute(purchase, "won", DISPUTE_ID))
    _deliver_each_3_times(client, "charge.dispute.updated", dispute(purchase, "won", DISPUTE_ID))

    assert selectors.coin_balance(user_id=user.pk) == 0
    assert not Transaction.objects.filter(kind="dispute_reversal").exists()
    assert _dispute_row().status == ("lost" if stripe_says == "lost" else "open")
    assert run_ledger_check().ok
