from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.template import RequestContext, Template
from django.test import Client, RequestFactory
from django.utils.html import escape

from creators.models import Creator, Post
from gifts import services
from gifts.models import Gift, GiftSend, LiveSession
from wallet import errors
from wallet.selectors import coin_balance, diamond_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client: Client, viewer: Any) -> Client:
    client.force_login(viewer)
    return client


def live_api(session: LiveSession | int) -> str:
    """The API endpoint the live page's script sends gifts to (signed in by the session cookie)."""
    return f"/api/v1/live/{getattr(session, 'pk', session)}/gifts/"


def post_json(client: Client, url: str, body: Any, key: str | None = None) -> Any:
    """A gift as the panel's script sends it: a JSON body and an Idempotency-Key (a fresh one
    unless given)."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Accept": "application/json", "Idempotency-Key": str(uuid.uuid4()) if key is None else key}
    return client.post(url, data, content_type="application/json", headers=headers)


def test_the_live_list_shows_who_is_live(
    client: Client, live_session: LiveSession, make_creator: Callable[..., Creator], make_session: Any
) -> None:
    ended = make_session(make_creator(), title="Yesterday's stream")
    services.end_live_session(session=ended, ended_by=ended.creator.user)
    page = client.get("/live/")
    assert page.status_code == 200
    assert live_session.title in page.content.decode()
    assert "Yesterday&#x27;s stream" not in page.content.decode()
    assert f'href="/live/{live_session.pk}/"' in page.content.decode()
    assert "Go live" not in page.content.decode()
    client.force_login(live_session.creator.user)
    assert 'href="/studio/live/">Go live</a>' in client.get("/live/").content.decode()


def test_the_live_page_shows_stream_panel_feed_goal_and_boards(
    viewer_client: Client,
    viewer: Any,
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    gift_to(viewer, rose, 7, session=live_session)
    page = viewer_client.get(f"/live/{live_session.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="stream"' in html
    assert "Viewer One</strong> sent" in html
    assert "🌹 7 / 1,000 Rose" in html
    assert f'data-ws-path="/ws/live/{live_session.pk}/"' in html
    assert 'name="idempotency_key"' in html and 'data-testid="send-gift"' in html
    assert "Top gifters of all time" in html
    assert "js/live.js" in html


def test_anonymous_visitors_see_the_live_page_and_a_login_link_instead_of_the_panel(
    client: Client, live_session: LiveSession
) -> None:
    html = client.get(f"/live/{live_session.pk}/").content.decode()
    assert "to send gifts" in html and "/accounts/login/?next=/live/" in html
    assert "data-gift-form" not in html


def test_an_ended_session_page_has_no_gift_form(
    viewer_client: Client, creator: Creator, live_session: LiveSession
) -> None:
    services.end_live_session(session=live_session, ended_by=creator.user)
    html = viewer_client.get(f"/live/{live_session.pk}/").content.decode()
    assert escape(services.SESSION_ENDED) in html
    assert "data-gift-form" not in html


def test_a_plain_form_post_sends_the_gift_and_redirects_with_a_message(
    viewer_client: Client, viewer: Any, creator: Creator, live_session: LiveSession, doughnut: Gift
) -> None:
    url = f"/live/{live_session.pk}/gift/"
    form = {"gift": doughnut.pk, "count": "2", "idempotency_key": str(uuid.uuid4())}
    response = viewer_client.post(url, form, follow=True)
    assert response.redirect_chain[0] == (f"/live/{live_session.pk}/#gift-panel", 302)
    assert "You sent 🍩 Doughnut ×2 (60 coins)." in response.content.decode()
    # The same rendered form posted twice (a double click) is one gift.
    viewer_client.post(url, form)
    assert GiftSend.objects.count() == 1
    assert diamond_balance(user_id=creator.user_id) == 60


def test_the_panel_script_sends_through_the_api_and_reads_the_new_balance(
    viewer_client: Client, viewer: Any, live_session: LiveSession, doughnut: Gift
) -> None:
    key = str(uuid.uuid4())
    page = viewer_client.get(f"/live/{live_session.pk}/").content.decode()
    assert f'data-api-url="{live_api(live_session)}"' in page and 'data-wallet-url="/api/v1/wallet/"' in page
    url = live_api(live_session)
    first = post_json(viewer_client, url, {"gift": doughnut.pk, "count": 3}, key)
    again = post_json(viewer_client, url, {"gift": doughnut.pk, "count": 3}, key)
    assert first.status_code == again.status_code == 201
    body = first.json()
    assert body["gift"]["name"] == "Doughnut"
    assert (body["count"], body["coins"], body["sender"]) == (3, 90, "Viewer One")
    balance = viewer_client.get("/api/v1/wallet/").json()["coins"]
    assert balance == 10_000 - 90 == coin_balance(user_id=viewer.pk)
    assert again.json()["id"] == body["id"]
    assert GiftSend.objects.count() == 1


def test_the_key_comes_in_the_plain_form(
    viewer_client: Client, live_session: LiveSession, rose: Gift
) -> None:
    url = f"/live/{live_session.pk}/gift/"
    response = viewer_client.post(url, {"gift": rose.pk, "count": 1, "idempotency_key": "abc-123"})
    assert response.status_code == 302
    assert GiftSend.objects.get().idempotency_key == "abc-123"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"count": 0}, "combo count"),
        ({"count": -1}, "combo count"),
        ({"count": 1.5}, "combo count"),
        ({"count": "abc"}, "combo count"),
        ({"count": 10**40}, "combo count"),
        ({"count": services.MAX_COMBO + 1}, "combo count"),
        ({"count": None}, "combo count"),
        ({"count": True}, "combo count"),
        ({"count": [1]}, "combo count"),
        ({"drop": "count"}, "Enter a combo count."),
        ({"gift": 999_999}, "That gift is not available."),
        ({"gift": "abc"}, "That gift is not available."),
        ({"gift": {"id": 1}}, "That gift is not available."),
        ({"gift": -1}, "That gift is not available."),
        ({"drop": "gift"}, "Choose a gift."),
        ({"key": ""}, "Idempotency-Key header is required"),
        ({"key": "x" * 101}, "idempotency key"),
        ({"key": "has spaces"}, "idempotency key"),
    ],
    ids=repr,
)
def test_bad_input_is_a_clear_400(
    viewer_client: Client,
    viewer: Any,
    live_session: LiveSession,
    rose: Gift,
    body: dict[str, Any],
    message: str,
) -> None:
    data: dict[str, Any] = {"gift": rose.pk, "count": 1}
    bad_key = "key" in body
    key = body.pop("key", str(uuid.uuid4()))
    if "drop" in body:
        del data[body.pop("drop")]
    data.update(body)
    response = post_json(viewer_client, live_api(live_session), data, key)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == ("bad_idempotency_key" if bad_key else "invalid")
    assert message in body["message"]
    for field, field_messages in body["extra"].get("fields", {}).items():
        assert body["message"] == f"{field}: {field_messages[0]}"
    assert coin_balance(user_id=viewer.pk) == 10_000


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "parse_error"),
        ("[1, 2]", "invalid"),
        ('"text"', "invalid"),
        ("null", "invalid"),
        ("{", "parse_error"),
    ],
    ids=repr,
)
def test_a_body_that_is_not_a_json_object_is_a_400(
    viewer_client: Client, viewer: Any, live_session: LiveSession, raw: str, code: str
) -> None:
    response = post_json(viewer_client, live_api(live_session), raw)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]
    assert coin_balance(user_id=viewer.pk) == 10_000


def test_a_bad_plain_form_redirects_back_with_the_reason(
    viewer_client: Client, live_session: LiveSession, rose: Gift
) -> None:
    response = viewer_client.post(
        f"/live/{live_session.pk}/gift/",
        {"gift": rose.pk, "count": "1.5", "idempotency_key": "k"},
        follow=True,
    )
    assert "The combo count must be a whole number" in response.content.decode()
    assert not GiftSend.objects.exists()


def test_anonymous_senders_are_asked_to_log_in(client: Client, live_session: LiveSession, rose: Gift) -> None:
    url = f"/live/{live_session.pk}/gift/"
    as_json = post_json(client, live_api(live_session), {"gift": rose.pk, "count": 1}, "k")
    assert as_json.status_code == 401
    assert as_json.json()["code"] == "not_authenticated"
    as_form = client.post(url, {"gift": rose.pk, "count": 1, "idempotency_key": "k"})
    assert as_form.status_code == 302
    assert as_form["Location"].startswith("/accounts/login/?next=%2Flive%2F")


def test_not_enough_coins_answers_402_with_a_link_to_get_coins(
    client: Client,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    doughnut: Gift,
) -> None:
    poor = make_user()
    fund(poor, 10)
    client.force_login(poor)
    url = f"/live/{live_session.pk}/gift/"
    response = post_json(client, live_api(live_session), {"gift": doughnut.pk, "count": 1}, "k1")
    assert response.status_code == 402
    assert response.json() == {
        "code": "insufficient_funds",
        "message": services.NOT_ENOUGH_COINS,
        "extra": {"coins_needed": 30, "coins_url": "/coins/"},
    }
    page = client.post(url, {"gift": doughnut.pk, "count": 1, "idempotency_key": "k2"}, follow=True)
    assert page.redirect_chain[0][0] == f"/live/{live_session.pk}/?need_coins=1#gift-panel"
    html = page.content.decode()
    assert escape(services.NOT_ENOUGH_COINS) in html
    assert '<a href="/coins/">Get coins</a>' in html
    assert coin_balance(user_id=poor.pk) == 10


def test_an_under_18_viewer_is_refused_with_a_clear_message(
    client: Client,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    rose: Gift,
) -> None:
    minor = make_user(age=16)
    fund(minor, 100)
    client.force_login(minor)
    response = post_json(client, live_api(live_session), {"gift": rose.pk, "count": 1}, "k")
    assert response.status_code == 403
    assert response.json()["message"] == "You must be 18 or older to buy or spend coins."
    assert "Sending gifts needs 18+." in client.get(f"/live/{live_session.pk}/").content.decode()
    assert coin_balance(user_id=minor.pk) == 100


def test_a_viewer_over_the_daily_cap_is_refused_with_a_clear_message(
    settings: Any, viewer_client: Client, viewer: Any, live_session: LiveSession, doughnut: Gift
) -> None:
    settings.DAILY_SPEND_CAP_COINS = 50
    url = live_api(live_session)
    assert post_json(viewer_client, url, {"gift": doughnut.pk, "count": 1}, "a").status_code == 201
    response = post_json(viewer_client, url, {"gift": doughnut.pk, "count": 1}, "b")
    assert response.status_code == 403
    assert response.json()["code"] == "daily_cap_reached"
    assert response.json()["message"] == errors.DailyCapReached.default_message
    assert coin_balance(user_id=viewer.pk) == 10_000 - 30


def test_gifts_to_an_ended_session_answer_409(
    viewer_client: Client, creator: Creator, live_session: LiveSession, rose: Gift
) -> None:
    services.end_live_session(session=live_session, ended_by=creator.user)
    response = post_json(viewer_client, live_api(live_session), {"gift": rose.pk, "count": 1}, "k")
    assert response.status_code == 409
    assert response.json()["message"] == services.SESSION_ENDED


def test_an_unknown_session_is_a_404(viewer_client: Client, rose: Gift) -> None:
    response = post_json(viewer_client, live_api(999999), {"gift": rose.pk, "count": 1}, "k")
    assert response.status_code == 404
    form = {"gift": rose.pk, "count": 1, "idempotency_key": "k"}
    assert viewer_client.post("/live/999999/gift/", form).status_code == 404
    assert viewer_client.get("/live/999999/").status_code == 404
    assert viewer_client.get("/live/999999/gift/").status_code == 405


def test_the_post_gift_endpoint_sends_a_gift_on_a_post(
    viewer_client: Client, creator: Creator, post: Post, rose: Gift
) -> None:
    response = post_json(
        viewer_client, f"/api/v1/posts/{post.pk}/gifts/", {"gift": rose.pk, "count": 4}, "p1"
    )
    assert response.status_code == 201
    assert GiftSend.objects.get().post_id == post.pk
    assert diamond_balance(user_id=creator.user_id) == 4
    plain = viewer_client.post(
        f"/posts/{post.pk}/gift/",
        {"gift": rose.pk, "count": 1, "idempotency_key": "p2", "next": "https://evil.example/"},
    )
    assert plain["Location"] == f"/posts/{post.pk}/#gift-panel"
    assert (
        post_json(viewer_client, "/api/v1/posts/999999/gifts/", {"gift": rose.pk, "count": 1}).status_code
        == 404
    )
    assert viewer_client.post("/posts/999999/gift/", {"gift": rose.pk, "count": 1}).status_code == 404


def test_the_gift_panel_tag_renders_for_a_post(viewer: Any, post: Post, rose: Gift) -> None:
    request = RequestFactory().get(f"/posts/{post.pk}/")
    request.user = viewer
    html = Template("{% load gift_tags %}{% post_gift_panel post %}").render(
        RequestContext(request, {"post": post})
    )
    assert (
        f'action="/posts/{post.pk}/gift/"' in html
        and f'data-api-url="/api/v1/posts/{post.pk}/gifts/"' in html
    )
    assert "🌹" in html and 'name="idempotency_key"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    post.hidden = True
    hidden = Template("{% load gift_tags %}{% post_gift_panel post %}").render(
        RequestContext(request, {"post": post})
    )
    assert escape(services.POST_UNAVAILABLE) in hidden
    assert "data-gift-form" not in hidden


def test_studio_live_is_for_approved_creators(
    client: Client, make_user: Callable[..., Any], make_creator: Callable[..., Creator]
) -> None:
    assert client.get("/studio/live/").status_code == 302
    client.force_login(make_user())
    assert client.get("/studio/live/").status_code == 403
    client.force_login(make_creator(status=Creator.Status.APPLIED).user)
    response = client.get("/studio/live/")
    assert response.status_code == 403
    assert services.NOT_A_CREATOR in response.content.decode()


def test_a_creator_starts_and_ends_a_session_from_the_studio(
    client: Client, creator: Creator, rose: Gift
) -> None:
    client.force_login(creator.user)
    assert "Start live session" in client.get("/studio/live/").content.decode()
    bad = client.post("/studio/live/", {"title": "Ramen", "goal_count": "1000"})
    assert bad.status_code == 400 and services.GOAL_INCOMPLETE in bad.content.decode()
    started = client.post("/studio/live/", {"title": "Ramen", "goal_gift": rose.pk, "goal_count": "1000"})
    session = LiveSession.objects.get(creator=creator)
    assert started["Location"] == f"/live/{session.pk}/"
    assert "End live session" in client.get("/studio/live/").content.decode()
    again = client.post("/studio/live/", {"title": "Second"})
    assert again.status_code == 400
    assert escape(services.ALREADY_LIVE) in again.content.decode()
    assert LiveSession.objects.filter(creator=creator).count() == 1
    ended = client.post(f"/studio/live/{session.pk}/end/", follow=True)
    assert "Your live session has ended." in ended.content.decode()
    session.refresh_from_db()
    assert session.status == LiveSession.Status.ENDED


def test_only_the_creator_can_end_their_session(viewer_client: Client, live_session: LiveSession) -> None:
    assert viewer_client.post(f"/studio/live/{live_session.pk}/end/").status_code == 403
    live_session.refresh_from_db()
    assert live_session.is_live


def test_a_gift_replayed_from_the_page_after_the_gift_was_retired_answers_as_the_first_request_did(
    viewer_client: Client, viewer: Any, creator: Creator, live_session: LiveSession, doughnut: Gift
) -> None:
    url = f"/live/{live_session.pk}/gift/"
    api = live_api(live_session)
    key = str(uuid.uuid4())
    fetched = post_json(viewer_client, api, {"gift": doughnut.pk, "count": 3}, key)
    form = {"gift": doughnut.pk, "count": "2", "idempotency_key": str(uuid.uuid4())}
    viewer_client.post(url, form)
    Gift.objects.filter(pk=doughnut.pk).update(active=False)

    again = post_json(viewer_client, api, {"gift": doughnut.pk, "count": 3}, key)
    resent = viewer_client.post(url, form, follow=True)

    assert again.status_code == 201
    assert again.json() == fetched.json()
    assert resent.redirect_chain[0] == (f"/live/{live_session.pk}/#gift-panel", 302)
    assert "You sent 🍩 Doughnut ×2 (60 coins)." in resent.content.decode()
    fresh = post_json(viewer_client, api, {"gift": doughnut.pk, "count": 1}, "new-1")
    assert (fresh.status_code, fresh.json()["message"]) == (400, services.GIFT_UNAVAILABLE)
    assert GiftSend.objects.count() == 2
    assert diamond_balance(user_id=creator.user_id) == 150
    assert coin_balance(user_id=viewer.pk) == 10_000 - 150
