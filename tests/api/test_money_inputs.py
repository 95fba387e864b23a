"""Bad amounts on every money-moving endpoint: 0, -1, 1.5, "1e3", 2^31, 2^63, null and a
missing field are each refused with a 4xx and a message, and nothing moves on the ledger."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from creators.models import Order, Unlock
from gifts.models import GiftSend
from tests.api.conftest import SHIPPING, World, card_for, ledger_snapshot
from wallet.models import CoinPurchase, User

pytestmark = pytest.mark.django_db

MISSING = object()
BAD_AMOUNTS = [0, -1, 1.5, "1e3", 2**31, 2**63, None, MISSING]


@dataclass(frozen=True)
class Field:
    endpoint: str
    path: Callable[[World], str]
    valid_body: Callable[[World], dict[str, Any]]
    field: str
    optional: bool = False


FIELDS = [
    Field(
        "start a purchase",
        lambda w: "/api/v1/coins/purchases/",
        lambda w: {"custom_coins": 100},
        "custom_coins",
    ),
    Field(
        "start a purchase",
        lambda w: "/api/v1/coins/purchases/",
        lambda w: {"package": w.package.pk},
        "package",
    ),
    Field(
        "confirm a purchase",
        lambda w: f"/api/v1/coins/purchases/{w.purchase.pk}/confirm/",
        lambda w: {"payment_method": "pm_card_visa"},
        "payment_method",
    ),
    Field(
        "gift a live session",
        lambda w: f"/api/v1/live/{w.session.pk}/gifts/",
        lambda w: {"gift": w.rose.pk, "count": 1},
        "count",
    ),
    Field(
        "gift a live session",
        lambda w: f"/api/v1/live/{w.session.pk}/gifts/",
        lambda w: {"gift": w.rose.pk, "count": 1},
        "gift",
    ),
    Field(
        "gift a post",
        lambda w: f"/api/v1/posts/{w.post.pk}/gifts/",
        lambda w: {"gift": w.rose.pk, "count": 1},
        "count",
    ),
    Field(
        "order merch",
        lambda w: f"/api/v1/merch/{w.item.pk}/orders/",
        lambda w: {"quantity": 1, "shipping": SHIPPING},
        "quantity",
    ),
    Field(
        "order merch",
        lambda w: f"/api/v1/merch/{w.item.pk}/orders/",
        lambda w: {"quantity": 1, "shipping": SHIPPING, "expected_unit_price": 300},
        "expected_unit_price",
        optional=True,
    ),
]

# Money-moving endpoints without a body: the amount is the object id in the path.
PATH_IDS = [
    ("unlock a post", "/api/v1/posts/{}/unlock/", None),
    ("cancel an order", "/api/v1/orders/{}/cancel/", None),
    ("ship an order", "/api/v1/studio/orders/{}/ship/", None),
    ("confirm a purchase", "/api/v1/coins/purchases/{}/confirm/", {"payment_method": "pm_card_visa"}),
    ("gift a live session", "/api/v1/live/{}/gifts/", {"gift": 1, "count": 1}),
    ("gift a post", "/api/v1/posts/{}/gifts/", {"gift": 1, "count": 1}),
    ("order merch", "/api/v1/merch/{}/orders/", {"quantity": 1, "shipping": SHIPPING}),
]


def _rows() -> tuple[int, int, int, int]:
    return (
        CoinPurchase.objects.count(),
        GiftSend.objects.count(),
        Order.objects.count(),
        Unlock.objects.count(),
    )


def _post(client: APIClient, path: str, body: Any) -> Any:
    return client.post(
        path,
        "" if body is None else json.dumps(body),
        content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def _assert_refused(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert set(body) == {"code", "message", "extra"} and body["code"] and body["message"]


CASES = [
    pytest.param(
        field, value, id=f"{field.endpoint}: {field.field}={'missing' if value is MISSING else repr(value)}"
    )
    for field in FIELDS
    for value in BAD_AMOUNTS
    if not (field.optional and value is MISSING)  # leaving out an optional field is a valid request
]


@pytest.mark.parametrize(("field", "value"), CASES)
def test_a_bad_amount_is_refused_with_a_message_and_moves_nothing(
    field: Field, value: Any, world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    body = field.valid_body(world)
    if value is MISSING:
        del body[field.field]
    else:
        body[field.field] = value
    before, rows = ledger_snapshot(), _rows()
    response = _post(api_as(world.viewer), field.path(world), body)
    _assert_refused(response)
    assert ledger_snapshot() == before and _rows() == rows


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "1e3", str(2**31), str(2**63), "null"])
@pytest.mark.parametrize(("endpoint", "template", "body"), PATH_IDS, ids=[name for name, _, _ in PATH_IDS])
def test_a_bad_id_in_the_path_is_a_404_with_a_message(
    endpoint: str,
    template: str,
    body: dict[str, Any] | None,
    value: str,
    world: World,
    api_as: Callable[[User | None], APIClient],
) -> None:
    before = ledger_snapshot()
    response = _post(api_as(world.owner), template.format(value), body)
    _assert_refused(response)
    assert response.status_code == 404
    assert ledger_snapshot() == before


def test_the_valid_bodies_of_the_table_are_accepted(
    world: World, api_as: Callable[[User | None], APIClient], stripe_settings: Any
) -> None:
    """The table's baseline requests succeed, so each refusal above is the bad amount's doing."""
    client = api_as(world.viewer)
    seen = set()
    for field in FIELDS:
        if field.endpoint in seen:
            continue
        seen.add(field.endpoint)
        body = field.valid_body(world)
        if field.field == "payment_method":
            # Only the card entered on the purchase's own SetupIntent pays (the table's pm_ id is shape only).
            body["payment_method"] = card_for(world.purchase)
        response = _post(client, field.path(world), body)
        assert response.status_code in (200, 201), (field.endpoint, response.content)
