"""The REST API for unlocks, orders and earnings: Idempotency-Key headers, one error shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from creators.models import Order, Post
from wallet.selectors import coin_balance, diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db

SHIPPING = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postcode": "12345", "country": "us"}


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_unlocking_over_the_api_charges_once_and_reveals_the_premium_part(
    make_user, fund, make_creator, make_post
):
    post = make_post(make_creator(), price=30, premium_body="Full text")
    viewer = make_user()
    fund(viewer, 100)
    api = _api(viewer)
    before = api.get(f"/api/v1/posts/{post.pk}/").json()
    assert before["unlocked"] is False and before["premium_body"] is None

    first = api.post(f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-0001")
    second = api.post(f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-0002")

    assert first.status_code == 201 and first.json()["charged"] is True and first.json()["coins"] == 30
    assert second.status_code == 200 and second.json()["charged"] is False and second.json()["coins"] == 0
    assert coin_balance(user_id=viewer.pk) == 70
    after = api.get(f"/api/v1/posts/{post.pk}/").json()
    assert after["unlocked"] is True and after["premium_body"] == "Full text"


def test_api_errors_have_one_shape(make_user, fund, make_creator, make_post):
    post = make_post(make_creator(), price=30)
    viewer = make_user()
    api = _api(viewer)
    missing = api.post(f"/api/v1/posts/{post.pk}/unlock/")
    assert missing.status_code == 400 and missing.json()["code"] == "bad_idempotency_key"
    broke = api.post(f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-0003")
    assert broke.status_code == 402 and set(broke.json()) == {"code", "message", "extra"}
    assert api.get("/api/v1/posts/999999/").json()["code"] == "not_found"
    assert APIClient().post(
        f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-0004"
    ).status_code in (401, 403)


def test_ordering_cancelling_and_shipping_over_the_api(make_user, fund, make_creator, make_item):
    creator = make_creator()
    item = make_item(creator, price=100, stock=2)
    viewer = make_user()
    fund(viewer, 1000)
    api = _api(viewer)
    body = {"quantity": 1, "shipping": SHIPPING, "expected_unit_price": 100}

    placed = api.post(
        f"/api/v1/merch/{item.pk}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="api-order-0001"
    )
    replay = api.post(
        f"/api/v1/merch/{item.pk}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="api-order-0001"
    )
    conflict = api.post(
        f"/api/v1/merch/{item.pk}/orders/",
        {**body, "quantity": 2},
        format="json",
        HTTP_IDEMPOTENCY_KEY="api-order-0001",
    )

    assert placed.status_code == 201 and placed.json()["order"]["coins"] == 100
    # A replay of the key answers exactly as the first request did, and charges nothing again.
    assert (replay.status_code, replay.json()) == (placed.status_code, placed.json())
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    order_id = placed.json()["order"]["id"]
    assert [o["id"] for o in api.get("/api/v1/orders/").json()["results"]] == [order_id]
    cancelled = api.post(f"/api/v1/orders/{order_id}/cancel/", HTTP_IDEMPOTENCY_KEY="api-cancel-0001")
    assert cancelled.status_code == 200 and cancelled.json()["order"]["status"] == "cancelled"
    again = api.post(f"/api/v1/orders/{order_id}/cancel/", HTTP_IDEMPOTENCY_KEY="api-cancel-0002")
    assert again.json()["changed"] is False
    assert coin_balance(user_id=viewer.pk) == 1000

    second = api.post(
        f"/api/v1/merch/{item.pk}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="api-order-0002"
    )
    studio = _api(creator.user)
    assert [o["id"] for o in studio.get("/api/v1/studio/orders/?status=placed").json()["results"]] == [
        second.json()["order"]["id"]
    ]
    shipped = studio.post(
        f"/api/v1/studio/orders/{second.json()['order']['id']}/ship/", HTTP_IDEMPOTENCY_KEY="api-ship-0001"
    )
    assert shipped.status_code == 200 and shipped.json()["order"]["status"] == Order.Status.SHIPPED
    assert diamond_balance(user_id=creator.user_id) == 50
    assert (
        api.post(
            f"/api/v1/studio/orders/{second.json()['order']['id']}/ship/",
            HTTP_IDEMPOTENCY_KEY="api-ship-0002",
        ).status_code
        == 403
    )
    sold_out = api.post(
        f"/api/v1/merch/{item.pk}/orders/",
        {**body, "quantity": 2},
        format="json",
        HTTP_IDEMPOTENCY_KEY="api-order-0003",
    )
    assert sold_out.status_code == 409 and sold_out.json()["code"] == "sold_out"
    bad = api.post(
        f"/api/v1/merch/{item.pk}/orders/",
        {"quantity": 0},
        format="json",
        HTTP_IDEMPOTENCY_KEY="api-order-0004",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_earnings_are_for_approved_creators_and_take_30_or_90_days(make_creator, make_user):
    creator = make_creator()
    studio = _api(creator.user)
    earnings = studio.get("/api/v1/studio/earnings/?days=90")
    assert earnings.status_code == 200 and len(earnings.json()["per_day"]) == 90
    assert studio.get("/api/v1/studio/earnings/?days=7").status_code == 400
    assert _api(make_user()).get("/api/v1/studio/earnings/").status_code == 403


def test_the_schema_documents_the_idempotency_header():
    schema = APIClient().get("/api/schema/?format=json").json()
    unlock = schema["paths"]["/api/v1/posts/{id}/unlock/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in unlock["parameters"])


def test_an_unlock_replayed_after_the_post_was_hidden_answers_as_the_first_request_did(
    make_user, fund, make_creator, make_post
):
    post = make_post(make_creator(), price=30, premium_body="Full text")
    viewer = make_user()
    fund(viewer, 100)
    api = _api(viewer)
    first = api.post(f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-hidden-1")
    assert first.status_code == 201
    Post.objects.filter(pk=post.pk).update(hidden=True)

    replays = [
        api.post(f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-hidden-1")
        for _ in range(3)
    ]

    assert [(r.status_code, r.json()) for r in replays] == [(201, first.json())] * 3
    # Anyone else, or a new key, still finds no post to unlock.
    other = make_user()
    fund(other, 100)
    refused = _api(other).post(f"/api/v1/posts/{post.pk}/unlock/", HTTP_IDEMPOTENCY_KEY="api-unlock-hidden-2")
    assert refused.status_code == 404
    assert coin_balance(user_id=viewer.pk) == 70 and coin_balance(user_id=other.pk) == 100
    assert run_ledger_check().ok
