"""Staff powers used outside the admin: cancelling someone's order, ending someone's live session,
shipping another creator's order and reading premium content nobody unlocked. Each is refused to
staff without its own permission, from every page and API endpoint, and with it is done with a
reason and an audit entry; a creator or buyer acting on their own rows is unaffected."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from creators import services as creator_services
from creators.models import Creator, Order
from creators.services import ShippingAddress, moderation
from gifts.models import LiveSession
from wallet import errors, services
from wallet.models import AuditEntry, User
from wallet.moderation import actions, adjustments
from wallet.selectors import coin_balance, diamond_balance
from wallet.services import run_ledger_check
from wallet.tests.moderation.conftest import logged_in, run_action

pytestmark = pytest.mark.django_db

ADDRESS = ShippingAddress(
    name="Ada Viewer", line1="1 Main St", city="Springfield", postcode="12345", country="US"
)
PREMIUM = "The secret broth recipe"


@pytest.fixture
def bare_staff(make_user: Callable[..., Any]) -> User:
    """Someone with admin access and no permission at all."""
    return make_user(is_staff=True, role=User.Role.STAFF)


@pytest.fixture
def order(creator: Creator, make_user: Callable[..., Any], fund: Callable[..., Any]) -> Order:
    item = creator_services.create_merch_item(
        creator=creator, name="Ramen bowl", description="Glazed.", price_coins=40, stock=5
    )
    buyer = make_user()
    fund(buyer, 100)
    return creator_services.place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-staff-0001"
    ).order


def _text(response: Any) -> str:
    return html.unescape(response.content.decode())


def _api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_without_the_cancel_permission_cannot_cancel_someone_elses_order_from_the_page(
    bare_staff, moderator, order
):
    for staff in (bare_staff, moderator):
        response = logged_in(staff).post(f"/orders/{order.pk}/cancel/", {"reason": "Looks fake"})
        order.refresh_from_db()
        assert order.status == Order.Status.PLACED, staff
        assert response.status_code == 404, staff
    assert coin_balance(user_id=order.buyer_id) == 60
    assert not AuditEntry.objects.exists()
    assert run_ledger_check().ok


def test_finance_cancelling_a_viewers_order_from_the_page_gives_a_reason_and_is_audited(finance, order):
    page = logged_in(finance)

    no_reason = page.post(f"/orders/{order.pk}/cancel/")
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert no_reason.status_code == 400 and errors.REASON_REQUIRED in _text(no_reason)

    page.post(f"/orders/{order.pk}/cancel/", {"reason": "Buyer asked support"})

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert coin_balance(user_id=order.buyer_id) == 100
    entry = AuditEntry.objects.get(action="order.cancel")
    assert (entry.actor, entry.reason, entry.target_id) == (finance, "Buyer asked support", str(order.pk))
    assert (entry.before["status"], entry.after["status"]) == ("placed", "cancelled")
    assert entry.transaction_id == order.cancel_transaction_id
    assert run_ledger_check().ok


def test_the_buyer_still_cancels_their_own_order_without_a_reason_or_an_audit_entry(order):
    response = logged_in(order.buyer).post(f"/orders/{order.pk}/cancel/")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert not AuditEntry.objects.exists()


def test_staff_without_the_end_permission_cannot_end_another_creators_live_session(
    bare_staff, finance, live_session
):
    for staff in (bare_staff, finance):
        response = logged_in(staff).post(f"/studio/live/{live_session.pk}/end/", {"reason": "Spam"})
        live_session.refresh_from_db()
        assert live_session.status == LiveSession.Status.LIVE, staff
        assert response.status_code == 403, staff
    assert not AuditEntry.objects.exists()


def test_a_moderator_ending_a_live_session_from_the_studio_page_gives_a_reason_and_is_audited(
    moderator, live_session
):
    page = logged_in(moderator)
    no_reason = page.post(f"/studio/live/{live_session.pk}/end/")
    live_session.refresh_from_db()
    assert live_session.status == LiveSession.Status.LIVE
    assert no_reason.status_code == 400 and errors.REASON_REQUIRED in _text(no_reason)

    page.post(f"/studio/live/{live_session.pk}/end/", {"reason": "Nudity"})

    live_session.refresh_from_db()
    assert live_session.status == LiveSession.Status.ENDED
    entry = AuditEntry.objects.get(action="livesession.end")
    assert (entry.actor, entry.reason, entry.after["status"]) == (moderator, "Nudity", "ended")


def test_a_creator_still_ends_their_own_live_session_without_an_audit_entry(live_session):
    logged_in(live_session.creator.user).post(f"/studio/live/{live_session.pk}/end/")
    live_session.refresh_from_db()
    assert live_session.status == LiveSession.Status.ENDED
    assert not AuditEntry.objects.exists()


def test_a_creator_on_staff_cannot_ship_another_creators_order_from_the_studio_or_the_api(
    make_creator, order
):
    insider = make_creator(is_staff=True).user
    seller = order.item.creator.user_id

    page = logged_in(insider).post(f"/studio/orders/{order.pk}/ship/", {"reason": "Shipped"})
    api = _api(insider).post(
        f"/api/v1/studio/orders/{order.pk}/ship/", HTTP_IDEMPOTENCY_KEY="ship-staff-0001"
    )

    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert diamond_balance(user_id=seller) == 0
    assert (page.status_code, api.status_code) == (404, 404)
    assert not AuditEntry.objects.exists()
    assert run_ledger_check().ok


def test_staff_with_the_ship_permission_mark_an_order_shipped_in_admin_with_a_reason_and_an_audit_entry(
    finance, moderator, order
):
    changelist = "/admin/creators/order/"
    refused = run_action(logged_in(moderator), changelist, "mark_shipped", [order], apply="Ship", reason="ok")
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and refused.status_code in (302, 403)

    run_action(logged_in(finance), changelist, "mark_shipped", [order], apply="Ship", reason="Tracking ZX1")

    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert diamond_balance(user_id=order.item.creator.user_id) == order.diamonds
    entry = AuditEntry.objects.get(action="order.ship")
    assert (entry.actor, entry.reason, entry.transaction_id) == (
        finance,
        "Tracking ZX1",
        order.release_transaction_id,
    )
    assert run_ledger_check().ok


def test_staff_without_the_view_permission_read_no_premium_content_they_did_not_unlock(
    bare_staff, finance, moderator, creator
):
    post = creator_services.publish_post(
        creator=creator, title="Broth", teaser="Slow.", premium_body=PREMIUM, price_coins=30
    )
    for staff in (bare_staff, finance):
        body = _api(staff).get(f"/api/v1/posts/{post.pk}/").json()
        assert body["premium_body"] is None, staff
        assert PREMIUM not in _text(logged_in(staff).get(f"/posts/{post.pk}/")), staff
    # Moderators review reported posts, premium part included.
    assert _api(moderator).get(f"/api/v1/posts/{post.pk}/").json()["premium_body"] == PREMIUM


def test_the_default_groups_hold_the_staff_powers_they_need(finance, moderator):
    assert finance.has_perms(["creators.cancel_order", "creators.ship_order"])
    assert moderator.has_perms(["gifts.end_live_session", "creators.view_post"])
    assert not finance.has_perm("gifts.end_live_session") and not moderator.has_perm("creators.ship_order")


def test_the_moderation_services_refuse_staff_without_the_actions_permission_whoever_calls_them(
    bare_staff, creator, make_user, fund
):
    viewer = make_user()
    fund(viewer, 10)
    wallet = services.coin_account(user_id=viewer.pk)
    post = creator_services.publish_post(
        creator=creator, title="T", teaser="t", premium_body="", price_coins=0
    )
    calls = [
        lambda: actions.freeze_wallet(account_id=wallet.pk, staff=bare_staff, reason="r"),
        lambda: adjustments.request_adjustment(
            account_id=wallet.pk, amount=5, reason="r", requested_by=bare_staff
        ),
        lambda: moderation.suspend_creator(creator_id=creator.pk, staff=bare_staff, reason="r"),
        lambda: moderation.hide_post(post_id=post.pk, staff=bare_staff, reason="r"),
    ]
    for call in calls:
        with pytest.raises(errors.NotAllowed, match=errors.STAFF_PERMISSION_REQUIRED):
            call()
    creator.refresh_from_db()
    post.refresh_from_db()
    assert creator.status == Creator.Status.APPROVED and not post.hidden
    assert coin_balance(user_id=viewer.pk) == 10
    assert not AuditEntry.objects.exists()


def test_finance_cancels_a_viewers_order_over_the_api_with_a_reason_and_an_audit_entry(finance, order):
    api = _api(finance)

    no_reason = api.post(
        f"/api/v1/orders/{order.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c-0001"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert (no_reason.status_code, no_reason.json()["message"]) == (400, errors.REASON_REQUIRED)

    done = api.post(
        f"/api/v1/orders/{order.pk}/cancel/",
        {"reason": "Buyer asked support"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="c-0002",
    )

    assert (done.status_code, done.json()["order"]["status"]) == (200, "cancelled")
    order.refresh_from_db()
    assert coin_balance(user_id=order.buyer_id) == 100
    entry = AuditEntry.objects.get(action="order.cancel")
    assert (entry.actor, entry.reason, entry.transaction_id) == (
        finance,
        "Buyer asked support",
        order.cancel_transaction_id,
    )
    assert run_ledger_check().ok


def test_finance_ships_another_creators_order_over_the_api_with_a_reason_and_an_audit_entry(finance, order):
    api = _api(finance)
    seller = order.item.creator.user_id

    no_reason = api.post(f"/api/v1/studio/orders/{order.pk}/ship/", HTTP_IDEMPOTENCY_KEY="s-0001")
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and diamond_balance(user_id=seller) == 0
    assert (no_reason.status_code, no_reason.json()["message"]) == (400, errors.REASON_REQUIRED)

    done = api.post(
        f"/api/v1/studio/orders/{order.pk}/ship/",
        {"reason": "Tracking ZX1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="s-0002",
    )

    assert (done.status_code, done.json()["order"]["status"]) == (200, "shipped")
    order.refresh_from_db()
    assert diamond_balance(user_id=seller) == order.diamonds
    entry = AuditEntry.objects.get(action="order.ship")
    assert (entry.actor, entry.reason, entry.transaction_id) == (
        finance,
        "Tracking ZX1",
        order.release_transaction_id,
    )
    assert run_ledger_check().ok


def test_staff_without_the_permission_are_told_over_the_api_that_the_order_does_not_exist_reason_or_not(
    bare_staff, moderator, order
):
    for staff in (bare_staff, moderator):
        api = _api(staff)
        cancel = api.post(
            f"/api/v1/orders/{order.pk}/cancel/",
            {"reason": "Looks fake"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"c-{staff.pk}-x",
        )
        ship = api.post(
            f"/api/v1/studio/orders/{order.pk}/ship/",
            {"reason": "Sent"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"s-{staff.pk}-x",
        )
        assert (cancel.status_code, ship.status_code) == (404, 403), staff
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert not AuditEntry.objects.exists()


def test_the_buyer_and_the_seller_still_act_on_their_orders_over_the_api_without_a_reason(
    order, make_user, fund
):
    cancelled = _api(order.buyer).post(
        f"/api/v1/orders/{order.pk}/cancel/", HTTP_IDEMPOTENCY_KEY="own-c-0001"
    )
    assert (cancelled.status_code, cancelled.json()["order"]["status"]) == (200, "cancelled")
    buyer = make_user()
    fund(buyer, 100)
    other = creator_services.place_order(
        buyer=buyer, item_id=order.item_id, quantity=1, shipping=ADDRESS, idempotency_key="order-staff-0002"
    ).order
    shipped = _api(order.item.creator.user).post(
        f"/api/v1/studio/orders/{other.pk}/ship/", HTTP_IDEMPOTENCY_KEY="own-s-0001"
    )
    assert (shipped.status_code, shipped.json()["order"]["status"]) == (200, "shipped")
    assert not AuditEntry.objects.exists()
    assert run_ledger_check().ok


def test_the_api_schema_documents_the_optional_staff_reason_of_cancel_and_ship(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()
    for path in ("/api/v1/orders/{id}/cancel/", "/api/v1/studio/orders/{id}/ship/"):
        body = schema["paths"][path]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        component = schema["components"]["schemas"][ref]
        assert "reason" in component["properties"] and "reason" not in component.get("required", []), path
