"""Every creators model has a working admin list and detail page; ledger mirrors are read-only;
orders are shipped or cancelled only through actions that call the services."""

from __future__ import annotations

import pytest
from django.test import Client

from creators.models import Order
from creators.services import place_order, roll_up_creator_earnings, unlock_post
from creators.tests.conftest import ADDRESS
from wallet.selectors import coin_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_every_creators_admin_page_renders(admin_client, make_user, fund, make_creator, make_post, make_item):
    creator = make_creator()
    post = make_post(creator, price=10)
    item = make_item(creator)
    viewer = make_user()
    fund(viewer, 1000)
    unlock_post(user=viewer, post_id=post.pk, idempotency_key="admin-unlock")
    order = place_order(
        buyer=viewer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="admin-order"
    ).order
    roll_up_creator_earnings()
    for model in [
        "creator",
        "post",
        "unlock",
        "merchitem",
        "order",
        "creatorearningsday",
        "creatorsupporter",
        "earningsrollupstate",
    ]:
        assert admin_client.get(f"/admin/creators/{model}/").status_code == 200, model
    for model, pk in [
        ("creator", creator.pk),
        ("post", post.pk),
        ("merchitem", item.pk),
        ("order", order.pk),
    ]:
        assert admin_client.get(f"/admin/creators/{model}/{pk}/change/").status_code == 200, model
    assert admin_client.get("/admin/creators/creator/add/").status_code == 403
    assert admin_client.get("/admin/creators/unlock/add/").status_code == 403


def test_staff_cancel_an_order_from_admin_through_the_service(
    admin_client, make_user, fund, make_creator, make_item
):
    item = make_item(make_creator(), price=100, stock=1)
    viewer = make_user()
    fund(viewer, 500)
    order = place_order(
        buyer=viewer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="admin-order-2"
    ).order

    admin_client.post(
        "/admin/creators/order/",
        {
            "action": "cancel_orders",
            "_selected_action": [str(order.pk)],
            "apply": "1",
            "reason": "Out of stock",
        },
    )

    order.refresh_from_db()
    item.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and item.stock == 1
    assert coin_balance(user_id=viewer.pk) == 500
    shipped = admin_client.post(
        "/admin/creators/order/",
        {"action": "mark_shipped", "_selected_action": [str(order.pk)], "apply": "1", "reason": "Tracked"},
        follow=True,
    )
    assert "cancelled, so it can" in shipped.content.decode().replace("&#x27;", "'")
