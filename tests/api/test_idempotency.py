"""The Idempotency-Key contract of every money-moving POST: a missing or malformed key is a
400; a replay (same key, same request) answers exactly as the first request did and moves
nothing; the same key on a different request is a 409 and moves nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from coinsite.api.idempotency import KEY_REQUIRED
from creators import services as creator_services
from tests.api.conftest import SHIPPING, World, card_for, ledger_snapshot
from wallet.idempotency import KEY_INVALID
from wallet.models import CoinPurchase, User
from wallet.purchases import checkout

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Request:
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    name: str
    actor: str  # the World role that performs it
    first: Callable[[World], Request]
    different: Callable[[World], Request]  # same key, a different request
    needs_stripe: bool = False


def _second_order(world: World) -> int:
    return creator_services.place_order(
        buyer=world.viewer,
        item_id=world.item.pk,
        quantity=1,
        shipping=creator_services.ShippingAddress(**SHIPPING),
        idempotency_key="second-order-0001",
    ).order.pk


def _second_post(world: World) -> int:
    return creator_services.publish_post(
        creator=world.creator, title="Another", teaser="", premium_body="More.", price_coins=10
    ).pk


def _second_purchase(world: World) -> CoinPurchase:
    return checkout.start_purchase(
        user=world.viewer, idempotency_key=str(uuid.uuid4()), package_id=world.package.pk
    )


def _confirm(purchase: CoinPurchase) -> Request:
    return Request(f"/api/v1/coins/purchases/{purchase.pk}/confirm/", {"payment_method": card_for(purchase)})


OPERATIONS = [
    Operation(
        "start a purchase",
        "viewer",
        lambda w: Request("/api/v1/coins/purchases/", {"package": w.package.pk}),
        lambda w: Request("/api/v1/coins/purchases/", {"custom_coins": 500}),
        needs_stripe=True,
    ),
    Operation(
        "confirm a purchase",
        "viewer",
        lambda w: _confirm(w.purchase),
        lambda w: _confirm(_second_purchase(w)),
        needs_stripe=True,
    ),
    Operation(
        "gift a live session",
        "viewer",
        lambda w: Request(f"/api/v1/live/{w.session.pk}/gifts/", {"gift": w.rose.pk, "count": 2}),
        lambda w: Request(f"/api/v1/live/{w.session.pk}/gifts/", {"gift": w.rose.pk, "count": 3}),
    ),
    Operation(
        "gift a post",
        "viewer",
        lambda w: Request(f"/api/v1/posts/{w.post.pk}/gifts/", {"gift": w.rose.pk, "count": 2}),
        lambda w: Request(f"/api/v1/live/{w.session.pk}/gifts/", {"gift": w.rose.pk, "count": 2}),
    ),
    Operation(
        "unlock a post",
        "viewer",
        lambda w: Request(f"/api/v1/posts/{w.post.pk}/unlock/"),
        lambda w: Request(f"/api/v1/posts/{_second_post(w)}/unlock/"),
    ),
    Operation(
        "order merch (another quantity)",
        "viewer",
        lambda w: Request(f"/api/v1/merch/{w.item.pk}/orders/", {"quantity": 1, "shipping": SHIPPING}),
        lambda w: Request(f"/api/v1/merch/{w.item.pk}/orders/", {"quantity": 2, "shipping": SHIPPING}),
    ),
    Operation(
        "order merch (another address)",
        "viewer",
        lambda w: Request(f"/api/v1/merch/{w.item.pk}/orders/", {"quantity": 1, "shipping": SHIPPING}),
        lambda w: Request(
            f"/api/v1/merch/{w.item.pk}/orders/",
            {"quantity": 1, "shipping": {**SHIPPING, "city": "Shelbyville"}},
        ),
    ),
    Operation(
        "cancel an order",
        "viewer",
        lambda w: Request(f"/api/v1/orders/{w.order.pk}/cancel/"),
        lambda w: Request(f"/api/v1/orders/{_second_order(w)}/cancel/"),
    ),
    Operation(
        "ship an order",
        "owner",
        lambda w: Request(f"/api/v1/studio/orders/{w.order.pk}/ship/"),
        lambda w: Request(f"/api/v1/studio/orders/{_second_order(w)}/ship/"),
    ),
]


def _send(client: APIClient, request: Request, key: str | None) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    body = "" if request.body is None else json.dumps(request.body)
    return client.post(request.path, body, content_type="application/json", headers=headers)


@pytest.fixture(params=OPERATIONS, ids=lambda op: op.name)
def operation(request: Any) -> Operation:
    op: Operation = request.param
    if op.needs_stripe:
        request.getfixturevalue("stripe_settings")
    return op


def test_a_replay_answers_as_the_first_request_and_a_different_request_is_a_409(
    operation: Operation, world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    client = api_as(getattr(world, operation.actor))
    key = f"key-{uuid.uuid4()}"
    first = _send(client, operation.first(world), key)
    assert first.status_code in (200, 201), first.content
    after_first = ledger_snapshot()

    replay = _send(client, operation.first(world), key)
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert ledger_snapshot() == after_first

    different = operation.different(world)
    before_conflict = ledger_snapshot()
    conflict = _send(client, different, key)
    assert conflict.status_code == 409, conflict.content
    assert conflict.json()["code"] == "idempotency_conflict"
    assert ledger_snapshot() == before_conflict


@pytest.mark.parametrize(
    ("key", "message"),
    [(None, KEY_REQUIRED), ("", KEY_REQUIRED), ("x" * 101, KEY_INVALID), ("-starts-with-dash", KEY_INVALID)],
    ids=["missing", "empty", "too long", "bad first character"],
)
def test_a_missing_or_malformed_key_is_a_400_and_moves_nothing(
    operation: Operation,
    key: str | None,
    message: str,
    world: World,
    api_as: Callable[[User | None], APIClient],
) -> None:
    before = ledger_snapshot()
    response = _send(api_as(getattr(world, operation.actor)), operation.first(world), key)
    assert response.status_code == 400
    assert response.json() == {
        "code": "bad_idempotency_key",
        "message": message,
        "extra": {"header": "Idempotency-Key"},
    }
    assert ledger_snapshot() == before


@pytest.mark.parametrize("key", ["k1", "a.b:c", "7"], ids=["short", "dots and colons", "one character"])
def test_every_valid_key_works_on_the_creator_endpoints_too(
    key: str, world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    """The creators' services store keys of 8+ of [A-Za-z0-9_-]; the API maps any valid key onto one."""
    client = api_as(world.viewer)
    request = Request(f"/api/v1/posts/{world.post.pk}/unlock/")
    first = _send(client, request, key)
    replay = _send(client, request, key)
    assert first.status_code == 201 and (replay.status_code, replay.json()) == (201, first.json())
    order = Request(f"/api/v1/merch/{world.item.pk}/orders/", {"quantity": 1, "shipping": SHIPPING})
    placed, again = _send(client, order, key), _send(client, order, key)
    assert placed.status_code == 201 and again.json() == placed.json()


def test_a_second_unlock_with_a_new_key_charges_nothing_and_says_so(
    world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    client = api_as(world.viewer)
    path = Request(f"/api/v1/posts/{world.post.pk}/unlock/")
    assert _send(client, path, "first-key-001").status_code == 201
    before = ledger_snapshot()
    second = _send(client, path, "second-key-002")
    assert second.status_code == 200 and second.json()["charged"] is False
    assert ledger_snapshot() == before


PER_OBJECT = [
    op for op in OPERATIONS if op.name in ("confirm a purchase", "cancel an order", "ship an order")
]


@pytest.mark.parametrize("operation", PER_OBJECT, ids=lambda op: op.name)
def test_a_per_object_action_replays_its_first_answer_from_the_database_not_a_cache(
    operation: Operation,
    world: World,
    api_as: Callable[[User | None], APIClient],
    fund: Callable[..., Any],
    request: Any,
) -> None:
    """Confirm, cancel and ship keep the first answer in the database with the action: with the
    cache emptied (as when Redis is down) and the object since answered differently (another
    balance, another key), a replay of the first key still gets the first answer, and the same
    key elsewhere is a 409."""
    if operation.needs_stripe:
        request.getfixturevalue("stripe_settings")
    client = api_as(getattr(world, operation.actor))
    first = _send(client, operation.first(world), "first-key")
    assert first.status_code == 200, first.content
    fund(world.viewer, 5)
    other_key = _send(client, operation.first(world), "other-key")
    assert other_key.status_code == 200 and other_key.json() != first.json()
    different = operation.different(world)
    after_first = ledger_snapshot()

    cache.clear()
    replay = _send(client, operation.first(world), "first-key")
    cache.clear()
    conflict = _send(client, different, "first-key")

    assert (replay.status_code, replay.json()) == (200, first.json())
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    assert ledger_snapshot() == after_first
