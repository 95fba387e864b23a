"""Orders: escrow until shipped, cancellation reverses once, shipping releases once."""

from __future__ import annotations

import pytest

from creators import errors as creator_errors
from creators.models import MerchItem, Order
from creators.services import (
    ShippingAddress,
    add_merch_stock,
    cancel_order,
    mark_order_shipped,
    place_order,
)
from creators.tests.conftest import ADDRESS
from wallet import errors
from wallet.models import Account, Entry, Transaction, Unit
from wallet.selectors import balance_of, coin_balance, diamond_balance
from wallet.services import run_ledger_check, system_account_id

pytestmark = pytest.mark.django_db(transaction=True)


def _escrow() -> int:
    return balance_of(account_id=system_account_id(Account.Kind.ESCROW, Unit.DIAMOND))


def _ledger_size() -> tuple[int, int]:
    return Transaction.objects.count(), Entry.objects.count()


@pytest.fixture
def order_setup(make_user, fund, make_creator, make_item):
    creator = make_creator()
    item = make_item(creator, price=301, stock=5)
    buyer = make_user()
    fund(buyer, 2000)
    return creator, item, buyer


def test_an_order_debits_the_buyer_and_holds_the_creators_share_in_escrow(order_setup):
    creator, item, buyer = order_setup
    escrow_before = _escrow()

    result = place_order(
        buyer=buyer, item_id=item.pk, quantity=2, shipping=ADDRESS, idempotency_key="order-key-1"
    )

    order = result.order
    assert (order.coins, order.diamonds, order.unit_price_coins) == (602, 301, 301)
    assert coin_balance(user_id=buyer.pk) == 2000 - 602
    assert diamond_balance(user_id=creator.user_id) == 0
    assert _escrow() - escrow_before == 301
    item.refresh_from_db()
    assert item.stock == 3
    assert order.placed_transaction.kind == Transaction.Kind.MERCH
    assert run_ledger_check().ok


def test_replaying_an_order_key_places_nothing_more_and_a_different_order_on_it_is_a_conflict(order_setup):
    _, item, buyer = order_setup
    first = place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-2"
    )
    size = _ledger_size()

    again = place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-2"
    )

    assert not again.changed and again.order.pk == first.order.pk
    assert _ledger_size() == size
    with pytest.raises(errors.IdempotencyConflict):
        place_order(buyer=buyer, item_id=item.pk, quantity=3, shipping=ADDRESS, idempotency_key="order-key-2")


def test_cancelling_returns_coins_and_stock_once(order_setup):
    creator, item, buyer = order_setup
    escrow_before = _escrow()
    order = place_order(
        buyer=buyer, item_id=item.pk, quantity=2, shipping=ADDRESS, idempotency_key="order-key-3"
    ).order

    first = cancel_order(order_id=order.pk, by=buyer)
    size = _ledger_size()
    second = cancel_order(order_id=order.pk, by=buyer)

    assert first.changed and not second.changed
    assert _ledger_size() == size
    assert coin_balance(user_id=buyer.pk) == 2000
    item.refresh_from_db()
    assert item.stock == 5
    assert _escrow() == escrow_before
    assert diamond_balance(user_id=creator.user_id) == 0
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cancel_transaction is not None
    reversal = dict(
        Entry.objects.filter(transaction=order.cancel_transaction).values_list("account_id", "amount")
    )
    original = dict(
        Entry.objects.filter(transaction=order.placed_transaction).values_list("account_id", "amount")
    )
    assert reversal == {account: -amount for account, amount in original.items()}
    assert order.cancel_transaction.kind == Transaction.Kind.MERCH_CANCEL
    with pytest.raises(errors.WrongState, match=creator_errors.ORDER_CANCELLED):
        mark_order_shipped(order_id=order.pk, by=creator.user)
    assert run_ledger_check().ok


def test_shipping_releases_the_escrowed_diamonds_once(order_setup):
    creator, item, buyer = order_setup
    escrow_before = _escrow()
    order = place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-4"
    ).order

    first = mark_order_shipped(order_id=order.pk, by=creator.user)
    size = _ledger_size()
    second = mark_order_shipped(order_id=order.pk, by=creator.user)

    assert first.changed and not second.changed
    assert _ledger_size() == size
    assert diamond_balance(user_id=creator.user_id) == 150
    assert _escrow() == escrow_before
    order.refresh_from_db()
    assert (
        order.status == Order.Status.SHIPPED
        and order.release_transaction.kind == Transaction.Kind.MERCH_RELEASE
    )
    with pytest.raises(errors.WrongState, match=creator_errors.ORDER_SHIPPED):
        cancel_order(order_id=order.pk, by=buyer)
    assert coin_balance(user_id=buyer.pk) == 2000 - 301
    assert run_ledger_check().ok


def test_only_the_buyer_cancels_and_only_the_items_creator_ships(order_setup, make_user, make_creator):
    _, item, buyer = order_setup
    order = place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-5"
    ).order
    with pytest.raises(errors.NotFound):
        cancel_order(order_id=order.pk, by=make_user())
    with pytest.raises(errors.NotFound):
        mark_order_shipped(order_id=order.pk, by=make_creator().user)
    with pytest.raises(errors.NotFound):
        mark_order_shipped(order_id=order.pk, by=buyer)


def test_an_order_larger_than_the_stock_says_how_many_are_left_and_moves_nothing(order_setup):
    _, item, buyer = order_setup
    with pytest.raises(creator_errors.SoldOut, match="Only 5 left in stock."):
        place_order(buyer=buyer, item_id=item.pk, quantity=6, shipping=ADDRESS, idempotency_key="order-key-6")
    item.refresh_from_db()
    assert item.stock == 5
    assert coin_balance(user_id=buyer.pk) == 2000
    assert not Order.objects.exists()


def test_not_enough_coins_leaves_the_stock_untouched(order_setup, make_user, fund):
    _, item, _ = order_setup
    poor = make_user()
    fund(poor, 100)
    with pytest.raises(errors.InsufficientCoins):
        place_order(buyer=poor, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-7")
    item.refresh_from_db()
    assert item.stock == 5
    assert not Order.objects.exists()


def test_a_changed_price_refuses_the_order(order_setup):
    _, item, buyer = order_setup
    MerchItem.objects.filter(pk=item.pk).update(price_coins=400)
    with pytest.raises(creator_errors.PriceChanged):
        place_order(
            buyer=buyer,
            item_id=item.pk,
            quantity=1,
            shipping=ADDRESS,
            idempotency_key="order-key-8",
            expected_unit_price=301,
        )
    item.refresh_from_db()
    assert item.stock == 5


def test_bad_order_input_is_refused_before_anything_moves(order_setup, make_user, fund):
    creator, item, buyer = order_setup
    with pytest.raises(errors.InvalidRequest, match="quantity"):
        place_order(buyer=buyer, item_id=item.pk, quantity=0, shipping=ADDRESS, idempotency_key="order-key-9")
    with pytest.raises(errors.InvalidRequest, match="two-letter"):
        place_order(
            buyer=buyer,
            item_id=item.pk,
            quantity=1,
            shipping=ShippingAddress(name="A", line1="B", city="C", postcode="D", country="USA"),
            idempotency_key="order-key-9",
        )
    with pytest.raises(errors.InvalidRequest, match="idempotency key"):
        place_order(buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="bad key!")
    with pytest.raises(errors.InvalidRequest, match=creator_errors.OWN_MERCH):
        place_order(
            buyer=creator.user, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-10"
        )
    minor = make_user(age=16)
    with pytest.raises(errors.AgeRestricted):
        place_order(
            buyer=minor, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-11"
        )
    MerchItem.objects.filter(pk=item.pk).update(hidden=True)
    with pytest.raises(errors.NotFound):
        place_order(
            buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-12"
        )
    item.refresh_from_db()
    assert item.stock == 5


def test_restocking_is_relative_and_never_goes_below_zero(order_setup):
    _, item, _ = order_setup
    assert add_merch_stock(item_id=item.pk, quantity=3) == 8
    assert add_merch_stock(item_id=item.pk, quantity=-8) == 0
    with pytest.raises(errors.InvalidRequest):
        add_merch_stock(item_id=item.pk, quantity=-1)
