"""Stock is never oversold: real threads on real PostgreSQL, started together by a barrier."""

from __future__ import annotations

import pytest

from creators import errors as creator_errors
from creators.models import Order
from creators.services import OrderResult, place_order
from creators.tests.conftest import ADDRESS
from tests.concurrency import run_concurrently
from wallet.errors import CoinSiteError
from wallet.models import Account, Transaction, Unit
from wallet.selectors import balance_of, coin_balance
from wallet.services import run_ledger_check, system_account_id


@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_orders_for_ten_in_stock_sell_exactly_ten(make_user, fund, make_creator, make_item):
    creator = make_creator()
    item = make_item(creator, price=300, stock=10)
    buyers = [make_user() for _ in range(40)]
    for buyer in buyers:
        fund(buyer, 1000)
    escrow = system_account_id(Account.Kind.ESCROW, Unit.DIAMOND)
    escrow_before = balance_of(account_id=escrow)

    results = run_concurrently(
        40,
        lambda i: place_order(
            buyer=buyers[i],
            item_id=item.pk,
            quantity=1,
            shipping=ADDRESS,
            idempotency_key=f"order-{buyers[i].pk}-race",
        ),
    )

    placed = [r for r in results if isinstance(r, OrderResult)]
    refused = [r for r in results if isinstance(r, CoinSiteError)]
    assert len(placed) == 10 and all(r.changed for r in placed)
    assert len(refused) == 30
    assert {(e.code, e.status, e.message) for e in refused} == {("sold_out", 409, creator_errors.SOLD_OUT)}
    item.refresh_from_db()
    assert item.stock == 0
    winners = {r.order.buyer_id for r in placed}
    for buyer in buyers:
        assert coin_balance(user_id=buyer.pk) == (700 if buyer.pk in winners else 1000)
    assert Order.objects.filter(item=item).count() == 10
    assert Transaction.objects.filter(kind=Transaction.Kind.MERCH).count() == 10
    assert balance_of(account_id=escrow) - escrow_before == 10 * 150
    check = run_ledger_check()
    assert check.ok, check.problems


@pytest.mark.django_db(transaction=True)
def test_the_same_order_key_sent_five_times_at_once_places_one_order(
    make_user, fund, make_creator, make_item
):
    item = make_item(make_creator(), price=300, stock=10)
    buyer = make_user()
    fund(buyer, 1000)

    results = run_concurrently(
        5,
        lambda i: place_order(
            buyer=buyer, item_id=item.pk, quantity=2, shipping=ADDRESS, idempotency_key="double-click-1"
        ),
    )

    assert all(isinstance(r, OrderResult) for r in results), results
    assert sum(r.changed for r in results) == 1
    assert len({r.order.pk for r in results}) == 1
    item.refresh_from_db()
    assert item.stock == 8
    assert coin_balance(user_id=buyer.pk) == 400
    assert run_ledger_check().ok
