"""The creators' pages: publishing, unlocking, ordering, the library and the studio; bad
input gets a clear 4xx next to the form, never a 500."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from creators import errors as creator_errors
from creators.models import MerchItem, Order, Post, Unlock
from creators.services import place_order
from creators.tests.conftest import ADDRESS, ADDRESS_FORM
from wallet.selectors import coin_balance

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _key(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_creator_publishes_a_premium_post_with_a_file(make_creator, media_root):
    creator = make_creator()
    client = _logged_in(creator.user)
    assert client.get("/studio/posts/new/").status_code == 200

    response = client.post(
        "/studio/posts/new/",
        {
            "title": "Recipe card",
            "teaser": "The broth secret",
            "premium_body": "Bones, 12 hours.",
            "price_coins": "50",
            "premium_file": SimpleUploadedFile("card.png", b"\x89PNG fake", content_type="image/png"),
        },
    )

    post = Post.objects.get(title="Recipe card")
    assert response.status_code == 302 and response["Location"] == f"/posts/{post.pk}/"
    assert post.premium_file_name == "card.png" and post.premium_file.name.startswith("premium/")
    assert (media_root / post.premium_file.name).read_bytes() == b"\x89PNG fake"
    page = client.get(f"/posts/{post.pk}/").content.decode()
    assert "Bones, 12 hours." in page and f'src="/posts/{post.pk}/file/"' in page


def test_bad_post_input_is_a_form_error(make_creator, make_user):
    client = _logged_in(make_creator().user)
    priced_but_empty = client.post("/studio/posts/new/", {"title": "x", "price_coins": "10"})
    assert priced_but_empty.status_code == 400
    assert "A priced post needs premium text or a file" in _text(priced_but_empty)
    assert client.post("/studio/posts/new/", {"title": "x", "price_coins": "-1"}).status_code == 400
    assert client.post("/studio/posts/new/", {"title": "", "price_coins": "abc"}).status_code == 400
    viewer = _logged_in(make_user())
    assert viewer.get("/studio/posts/new/")["Location"] == "/creators/apply/"


def test_a_viewer_unlocks_a_post_from_its_page_once(make_user, fund, make_creator, make_post):
    post = make_post(make_creator(), price=40, premium_body="The secret ingredient is time.")
    viewer = make_user()
    fund(viewer, 100)
    client = _logged_in(viewer)
    page = client.get(f"/posts/{post.pk}/").content.decode()
    assert "The secret ingredient" not in page and 'data-testid="locked"' in page
    key = _key(page)

    first = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": key}, follow=True)
    again = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": key}, follow=True)
    other_tab = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": "abcdefgh-other"}, follow=True)

    assert "Unlocked for 40 coins." in _text(first)
    assert "The secret ingredient is time." in _text(first)
    # The same form sent twice answers as the first time; another unlock says it was already done.
    assert "Unlocked for 40 coins." in _text(again)
    assert creator_errors.ALREADY_UNLOCKED in _text(other_tab)
    assert coin_balance(user_id=viewer.pk) == 60
    library = client.get("/me/library/").content.decode()
    assert post.title in library


def test_unlock_errors_are_shown_with_their_status(make_user, fund, make_creator, make_post):
    post = make_post(make_creator(), price=40)
    poor = make_user()
    fund(poor, 10)
    client = _logged_in(poor)
    no_key = client.post(f"/posts/{post.pk}/unlock/", {})
    assert no_key.status_code == 400 and "This form expired" in _text(no_key)
    broke = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": "abcdefgh-1"})
    assert broke.status_code == 402 and "enough coins" in _text(broke)
    minor = _logged_in(make_user(age=15)).post(f"/posts/{post.pk}/unlock/", {"idempotency_key": "abcdefgh-2"})
    assert minor.status_code == 403 and "18 or older" in _text(minor)
    assert client.post(f"/posts/{post.pk + 99}/unlock/", {"idempotency_key": "abcdefgh-3"}).status_code == 404
    assert client.get(f"/posts/{post.pk}/unlock/").status_code == 405
    assert Client().post(f"/posts/{post.pk}/unlock/", {"idempotency_key": "abcdefgh-4"}).status_code == 302
    assert not Unlock.objects.exists()


def test_a_viewer_orders_merch_cancels_it_and_the_creator_ships_another(
    make_user, fund, make_creator, make_item
):
    creator = make_creator()
    item = make_item(creator, price=100, stock=3)
    viewer = make_user()
    fund(viewer, 1000)
    client = _logged_in(viewer)
    page = client.get(f"/merch/{item.pk}/").content.decode()

    placed = client.post(
        f"/merch/{item.pk}/order/",
        {**ADDRESS_FORM, "quantity": "2", "expected_price": "100", "idempotency_key": _key(page)},
    )

    order = Order.objects.get(buyer=viewer)
    assert placed.status_code == 302 and placed["Location"] == f"/me/library/#order-{order.pk}"
    assert order.ship_country == "US" and order.quantity == 2
    assert coin_balance(user_id=viewer.pk) == 800
    cancel = client.post(f"/orders/{order.pk}/cancel/", follow=True)
    assert "Order cancelled: 200 coins returned." in _text(cancel)
    assert coin_balance(user_id=viewer.pk) == 1000

    other = place_order(
        buyer=viewer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="pages-order-2"
    ).order
    studio = _logged_in(creator.user)
    assert str(other.ship_line1) in studio.get("/studio/orders/").content.decode()
    shipped = studio.post(f"/studio/orders/{other.pk}/ship/", follow=True)
    assert "marked shipped: 50 diamonds released" in _text(shipped)
    late_cancel = client.post(f"/orders/{other.pk}/cancel/")
    assert late_cancel.status_code == 409 and creator_errors.ORDER_SHIPPED in _text(late_cancel)
    assert client.post(f"/studio/orders/{other.pk}/ship/").status_code == 302  # not a creator: to apply
    assert _logged_in(make_user()).post(f"/orders/{other.pk}/cancel/").status_code == 404


def test_bad_order_input_is_a_form_error_and_sold_out_is_a_409(make_user, fund, make_creator, make_item):
    item = make_item(make_creator(), price=100, stock=1)
    viewer = make_user()
    fund(viewer, 1000)
    client = _logged_in(viewer)
    good = {**ADDRESS_FORM, "quantity": "1", "idempotency_key": "form-key-0001"}
    for bad in [
        {"quantity": "0"},
        {"quantity": "11"},
        {"quantity": "x"},
        {"ship_country": "USA"},
        {"ship_line1": ""},
        {"idempotency_key": ""},
    ]:
        response = client.post(f"/merch/{item.pk}/order/", {**good, **bad})
        assert response.status_code == 400, bad
    changed = client.post(f"/merch/{item.pk}/order/", {**good, "expected_price": "90"})
    assert changed.status_code == 409 and "The price changed to 100 coins" in _text(changed)
    assert client.post(f"/merch/{item.pk}/order/", good).status_code == 302
    sold_out = client.post(f"/merch/{item.pk}/order/", {**good, "idempotency_key": "form-key-0002"})
    assert sold_out.status_code == 409 and creator_errors.SOLD_OUT in _text(sold_out)
    assert client.post(f"/merch/{item.pk + 50}/order/", good).status_code == 404
    assert Order.objects.count() == 1


def test_a_creator_lists_edits_and_restocks_merch(make_creator):
    creator = make_creator()
    client = _logged_in(creator.user)
    image = SimpleUploadedFile(
        "tee.gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        content_type="image/gif",
    )
    created = client.post(
        "/studio/merch/new/",
        {"name": "Tee", "description": "Cotton", "price_coins": "250", "stock": "4", "image": image},
    )
    assert created.status_code == 302
    item = MerchItem.objects.get(name="Tee")
    assert Client().get(f"/merch/{item.pk}/image/")["Content-Type"] == "image/gif"
    edit = client.post(
        f"/studio/merch/{item.pk}/edit/",
        {"name": "Tee v2", "description": "", "price_coins": "260", "add_stock": "6", "hidden": "on"},
    )
    assert edit.status_code == 302
    item.refresh_from_db()
    assert (item.name, item.price_coins, item.stock, item.hidden) == ("Tee v2", 260, 10, True)
    assert Client().get(f"/merch/{item.pk}/").status_code == 404  # hidden
    too_few = client.post(
        f"/studio/merch/{item.pk}/edit/", {"name": "Tee v2", "price_coins": "260", "add_stock": "-11"}
    )
    assert too_few.status_code == 400 and "Stock must stay between 0" in _text(too_few)
    not_image = SimpleUploadedFile("x.gif", b"not an image", content_type="image/gif")
    bad = client.post(
        "/studio/merch/new/", {"name": "X", "price_coins": "1", "stock": "1", "image": not_image}
    )
    assert bad.status_code == 400
    assert (
        client.post("/studio/merch/new/", {"name": "X", "price_coins": "0", "stock": "-1"}).status_code == 400
    )
    assert client.get("/studio/merch/").status_code == 200


def test_the_studio_tolerates_odd_query_strings_and_others_cannot_see_it(make_creator, make_user):
    client = _logged_in(make_creator().user)
    assert client.get("/studio/?days=abc").status_code == 200
    assert client.get("/studio/?days=7").status_code == 200
    assert client.get("/studio/orders/?status=nonsense").status_code == 200
    assert _logged_in(make_user()).get("/studio/statement.csv")["Location"] == "/creators/apply/"
    assert Client().get("/studio/")["Location"].startswith("/accounts/login/")


def test_the_profile_shows_posts_merch_and_live_status(make_creator, make_post, make_item):
    creator = make_creator(handle="ana")
    make_post(creator, title="Hidden one", price=0)
    Post.objects.filter(title="Hidden one").update(hidden=True)
    make_post(creator, title="Public one", price=5)
    make_item(creator, name="Mug")
    page = Client().get("/c/ana/").content.decode()
    assert "Public one" in page and "Hidden one" not in page and "Mug" in page
    assert 'data-testid="offline"' in page
    assert Client().get("/c/nobody/").status_code == 404


def test_an_unlock_replayed_from_the_page_after_the_post_was_hidden_answers_as_the_first_request_did(
    make_user, fund, make_creator, make_post
):
    post = make_post(make_creator(), price=40, premium_body="The secret ingredient is time.")
    viewer = make_user()
    fund(viewer, 100)
    client = _logged_in(viewer)
    key = _key(client.get(f"/posts/{post.pk}/").content.decode())
    first = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": key}, follow=True)
    assert "Unlocked for 40 coins." in _text(first)
    Post.objects.filter(pk=post.pk).update(hidden=True)

    again = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": key})

    assert first.redirect_chain == [(f"/posts/{post.pk}/", 302)]
    assert (again.status_code, again["Location"]) == (302, f"/posts/{post.pk}/")
    assert [str(m) for m in get_messages(again.wsgi_request)] == ["Unlocked for 40 coins."]
    fresh = client.post(f"/posts/{post.pk}/unlock/", {"idempotency_key": "abcdefgh-new"})
    assert fresh.status_code == 404
    assert coin_balance(user_id=viewer.pk) == 60
    assert Unlock.objects.count() == 1
