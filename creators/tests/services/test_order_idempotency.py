"""The idempotency contract on merch orders, through the services: a replay of a key returns
the first answer and moves nothing, the same key for a different request is a conflict, and
keys have the one format of wallet.idempotency."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
from django.db import connection

from creators.models import Order, Unlock
from creators.services import (
    OrderResult,
    cancel_order,
    mark_order_shipped,
    place_order,
    unlock_post,
)
from creators.tests.conftest import ADDRESS
from wallet import errors, idempotency
from wallet.models import Entry, IdempotentRequest, Transaction
from wallet.selectors import coin_balance

pytestmark = pytest.mark.django_db


def _ledger_size() -> tuple[int, int]:
    return Transaction.objects.count(), Entry.objects.count()


@pytest.fixture
def order_setup(make_user, fund, make_creator, make_item):
    creator = make_creator()
    item = make_item(creator, price=100, stock=5)
    buyer = make_user()
    fund(buyer, 1000)
    return creator, item, buyer


def _order(item, buyer, key: str = "place-1") -> Order:
    return place_order(buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key=key).order


def test_a_replayed_order_answers_as_placed_even_after_it_was_cancelled(order_setup):
    _, item, buyer = order_setup
    first = place_order(buyer=buyer, item_id=item.pk, quantity=2, shipping=ADDRESS, idempotency_key="k1")
    cancel_order(order_id=first.order.pk, by=buyer)
    size = _ledger_size()

    again = place_order(buyer=buyer, item_id=item.pk, quantity=2, shipping=ADDRESS, idempotency_key="k1")

    assert again.replay and not again.changed
    assert (again.order.pk, again.order.status, again.order.cancelled_at) == (
        first.order.pk,
        Order.Status.PLACED,
        None,
    )
    assert again.message == first.message == "Order placed: 200 coins."
    assert _ledger_size() == size
    assert Order.objects.get(pk=first.order.pk).status == Order.Status.CANCELLED


@pytest.mark.parametrize(
    "change",
    [
        {"shipping": replace(ADDRESS, city="Shelbyville")},
        {"shipping": replace(ADDRESS, line2="Flat 2")},
        {"expected_unit_price": 99},
        {"quantity": 2},
    ],
    ids=["city", "line2", "expected price", "quantity"],
)
def test_the_same_order_key_for_another_address_price_or_quantity_is_a_conflict(order_setup, change):
    _, item, buyer = order_setup
    request: dict[str, Any] = {
        "buyer": buyer,
        "item_id": item.pk,
        "quantity": 1,
        "shipping": ADDRESS,
        "idempotency_key": "k-conflict",
    }
    place_order(**request)
    size = _ledger_size()

    with pytest.raises(errors.IdempotencyConflict):
        place_order(**{**request, **change})

    assert _ledger_size() == size
    # The address as the service stores it (stripped, country in capitals) is the same request.
    padded = replace(ADDRESS, name=f"  {ADDRESS.name} ", country=ADDRESS.country.lower())
    assert place_order(**{**request, "shipping": padded, "expected_unit_price": 100}).replay


@pytest.mark.parametrize("action", [cancel_order, mark_order_shipped], ids=["cancel", "ship"])
def test_a_replayed_cancel_or_ship_key_returns_the_first_answer_and_moves_nothing(order_setup, action):
    creator, item, buyer = order_setup
    by = buyer if action is cancel_order else creator.user
    order = _order(item, buyer)

    first = action(order_id=order.pk, by=by, idempotency_key="act-1")
    size, balance = _ledger_size(), coin_balance(user_id=buyer.pk)
    # Another key now finds the order already done; the first key still gets its own answer.
    other = action(order_id=order.pk, by=by, idempotency_key="act-2")
    replay = action(order_id=order.pk, by=by, idempotency_key="act-1")

    assert first.changed and not first.replay
    assert not other.changed and not other.replay and other.message != first.message
    assert replay.replay and not replay.changed and replay.message == first.message
    assert replay.order.status == first.order.status and replay.order.pk == order.pk
    assert (_ledger_size(), coin_balance(user_id=buyer.pk)) == (size, balance)
    assert IdempotentRequest.objects.filter(user=by).count() == 2


@pytest.mark.parametrize("action", [cancel_order, mark_order_shipped], ids=["cancel", "ship"])
def test_the_same_cancel_or_ship_key_for_another_order_or_reason_is_a_conflict(order_setup, action):
    creator, item, buyer = order_setup
    by = buyer if action is cancel_order else creator.user
    order, second = _order(item, buyer), _order(item, buyer, key="place-2")
    action(order_id=order.pk, by=by, idempotency_key="act-1")
    size = _ledger_size()

    with pytest.raises(errors.IdempotencyConflict):
        action(order_id=second.pk, by=by, idempotency_key="act-1")
    with pytest.raises(errors.IdempotencyConflict):
        action(order_id=order.pk, by=by, reason="another reason", idempotency_key="act-1")

    assert _ledger_size() == size
    assert Order.objects.get(pk=second.pk).status == Order.Status.PLACED


def test_a_refused_action_leaves_its_key_free(order_setup):
    creator, item, buyer = order_setup
    shipped, other = _order(item, buyer), _order(item, buyer, key="place-2")
    mark_order_shipped(order_id=shipped.pk, by=creator.user)

    with pytest.raises(errors.WrongState):
        cancel_order(order_id=shipped.pk, by=buyer, idempotency_key="cancel-1")

    assert not IdempotentRequest.objects.exists()
    assert cancel_order(order_id=other.pk, by=buyer, idempotency_key="cancel-1").changed


def test_keys_are_the_callers_own(order_setup, make_user, fund):
    _, item, buyer = order_setup
    other = make_user()
    fund(other, 1000)
    mine = _order(item, buyer, key="same-key")
    theirs = _order(item, other, key="same-key")
    assert mine.pk != theirs.pk
    assert cancel_order(order_id=mine.pk, by=buyer, idempotency_key="cancel").changed
    assert cancel_order(order_id=theirs.pk, by=other, idempotency_key="cancel").changed


@pytest.mark.parametrize("key", ["k", "a.b:c", "7", "x" * 100], ids=["one letter", "dots", "digit", "100"])
def test_every_key_of_the_one_format_works_on_the_services(order_setup, make_post, key):
    creator, item, buyer = order_setup
    assert place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key=key
    ).changed
    post = make_post(creator, price=10)
    assert unlock_post(user=buyer, post_id=post.pk, idempotency_key=key).charged
    order = Order.objects.get(buyer=buyer)
    assert cancel_order(order_id=order.pk, by=buyer, idempotency_key=key).changed


@pytest.mark.parametrize("key", ["", "-dash-first", "x" * 101, "has space", None], ids=repr)
def test_a_malformed_key_is_refused_before_anything_moves(order_setup, make_post, key):
    creator, item, buyer = order_setup
    order = _order(item, buyer)
    post = make_post(creator, price=10)
    size = _ledger_size()
    calls = [
        lambda: place_order(buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key=key),
        lambda: unlock_post(user=buyer, post_id=post.pk, idempotency_key=key),
        lambda: cancel_order(order_id=order.pk, by=buyer, idempotency_key=key or ""),
    ]
    for call in calls:
        with pytest.raises(errors.InvalidRequest) as refused:
            call()
        assert (refused.value.code, refused.value.message) == (idempotency.KEY_CODE, idempotency.KEY_INVALID)
    assert _ledger_size() == size and not Unlock.objects.exists()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PLACED


@pytest.mark.django_db(transaction=True)
def test_one_cancel_key_sent_five_times_at_once_cancels_once_and_every_answer_is_the_first(order_setup):
    _, item, buyer = order_setup
    order = _order(item, buyer)
    barrier = threading.Barrier(5)
    results: list[Any] = [None] * 5

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = cancel_order(order_id=order.pk, by=buyer, idempotency_key="double-click")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert all(isinstance(r, OrderResult) for r in results), results
    assert sum(r.changed for r in results) == 1 and sum(r.replay for r in results) == 4
    assert {r.message for r in results} == {"Order cancelled: 100 coins returned."}
    assert coin_balance(user_id=buyer.pk) == 1000
    assert Transaction.objects.filter(kind=Transaction.Kind.MERCH_CANCEL).count() == 1
