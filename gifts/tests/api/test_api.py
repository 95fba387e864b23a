from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from creators.models import Creator, Post
from gifts import services
from gifts.models import Gift, GiftSend, LiveSession
from wallet import idempotency
from wallet.selectors import coin_balance, diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(viewer: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(viewer)
    return client


def send(api: APIClient, url: str, body: Any, key: str | None = "default") -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(url, body, format="json", headers=headers)


def test_the_catalogue_lists_active_gifts_cheapest_first(client: Any, catalogue: dict[str, Gift]) -> None:
    Gift.objects.filter(name="Lion").update(active=False)
    response = client.get("/api/v1/gifts/")
    assert response.status_code == 200
    names = [g["name"] for g in response.json()]
    assert names[0] == "Rose" and names[-1] == "Universe" and "Lion" not in names
    assert response.json()[0] == {
        "id": catalogue["Rose"].pk,
        "name": "Rose",
        "coins": 1,
        "emoji": "🌹",
        "image": "",
        "sort_order": 0,
    }


def test_the_live_sessions_list_and_detail(
    client: Any, viewer: Any, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    gift_to(viewer, rose, 3, session=live_session)
    listing = client.get("/api/v1/live/").json()
    assert [s["id"] for s in listing["results"]] == [live_session.pk]
    assert listing["results"][0]["creator"]["handle"] == live_session.creator.handle
    detail = client.get(f"/api/v1/live/{live_session.pk}/").json()
    assert detail["state"]["goal"]["progress"] == 3
    assert detail["state"]["board"] == [{"name": "Viewer One", "coins": 3}]


def test_a_gift_is_sent_once_per_idempotency_key(
    api: APIClient, viewer: Any, creator: Creator, live_session: LiveSession, doughnut: Gift
) -> None:
    url = f"/api/v1/live/{live_session.pk}/gifts/"
    key = str(uuid.uuid4())
    first = send(api, url, {"gift": doughnut.pk, "count": 2}, key)
    replay = send(api, url, {"gift": doughnut.pk, "count": 2}, key)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert first.json()["coins"] == 60
    assert GiftSend.objects.count() == 1
    assert diamond_balance(user_id=creator.user_id) == 60

    conflict = send(api, url, {"gift": doughnut.pk, "count": 3}, key)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"
    assert coin_balance(user_id=viewer.pk) == 10_000 - 60


def test_the_idempotency_key_header_is_required(
    api: APIClient, live_session: LiveSession, rose: Gift
) -> None:
    response = send(api, f"/api/v1/live/{live_session.pk}/gifts/", {"gift": rose.pk, "count": 1}, key=None)
    assert response.status_code == 400
    assert response.json()["message"] == "The Idempotency-Key header is required."


@pytest.mark.parametrize(
    "body",
    [
        {"count": 0},
        {"count": -1},
        {"count": 1.5},
        {"count": "abc"},
        {"count": 10**40},
        {"count": None},
        {"count": True},
        {"drop": "count"},
        {"gift": "abc"},
        {"gift": 10**40},
        {"gift": {"id": 1}},
        {"gift": -1},
        {"gift": 999_999},
        {"drop": "gift"},
    ],
    ids=repr,
)
def test_bad_input_is_a_clear_400(
    api: APIClient, viewer: Any, live_session: LiveSession, rose: Gift, body: dict[str, Any]
) -> None:
    data: dict[str, Any] = {"gift": rose.pk, "count": 1}
    if "drop" in body:
        del data[body.pop("drop")]
    data.update(body)
    response = send(api, f"/api/v1/live/{live_session.pk}/gifts/", data, str(uuid.uuid4()))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert response.json()["message"]
    assert coin_balance(user_id=viewer.pk) == 10_000


def test_a_bad_key_is_a_clear_400(api: APIClient, live_session: LiveSession, rose: Gift) -> None:
    response = send(api, f"/api/v1/live/{live_session.pk}/gifts/", {"gift": rose.pk, "count": 1}, "x" * 101)
    assert response.status_code == 400
    assert response.json()["message"] == idempotency.KEY_INVALID


def test_anonymous_callers_cannot_send(client: Any, live_session: LiveSession, rose: Gift) -> None:
    response = client.post(
        f"/api/v1/live/{live_session.pk}/gifts/",
        {"gift": rose.pk, "count": 1},
        headers={"Idempotency-Key": "k"},
    )
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_domain_refusals_use_the_error_body(
    api: APIClient,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    doughnut: Gift,
) -> None:
    url = f"/api/v1/live/{live_session.pk}/gifts/"
    poor = make_user()
    fund(poor, 5)
    poor_api = APIClient()
    poor_api.force_authenticate(poor)
    broke = send(poor_api, url, {"gift": doughnut.pk, "count": 1}, "k1")
    assert broke.status_code == 402
    assert broke.json()["extra"]["coins_url"] == "/coins/"

    minor = make_user(age=15)
    minor_api = APIClient()
    minor_api.force_authenticate(minor)
    assert send(minor_api, url, {"gift": doughnut.pk, "count": 1}, "k2").json()["code"] == "age_restricted"

    assert send(api, "/api/v1/live/999999/gifts/", {"gift": doughnut.pk, "count": 1}, "k3").status_code == 404
    services.end_live_session(session=live_session, ended_by=creator.user)
    ended = send(api, url, {"gift": doughnut.pk, "count": 1}, "k4")
    assert (ended.status_code, ended.json()["message"]) == (409, services.SESSION_ENDED)


def test_gifts_on_posts(api: APIClient, creator: Creator, post: Post, rose: Gift) -> None:
    response = send(api, f"/api/v1/posts/{post.pk}/gifts/", {"gift": rose.pk, "count": 9}, "p1")
    assert response.status_code == 201
    assert diamond_balance(user_id=creator.user_id) == 9
    assert send(api, "/api/v1/posts/999999/gifts/", {"gift": rose.pk, "count": 1}, "p2").status_code == 404


def test_the_schema_documents_the_gift_endpoints(client: Any) -> None:
    schema = client.get("/api/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/live/{id}/gifts/" in text and "Idempotency-Key" in text


@pytest.mark.parametrize("body", [[1, 2], "text", None], ids=repr)
def test_a_body_that_is_not_an_object_is_a_400(api: APIClient, live_session: LiveSession, body: Any) -> None:
    response = send(api, f"/api/v1/live/{live_session.pk}/gifts/", body, "k")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_gift_replayed_after_the_gift_was_retired_answers_as_the_first_request_did(
    api: APIClient, viewer: Any, creator: Creator, live_session: LiveSession, doughnut: Gift
) -> None:
    url = f"/api/v1/live/{live_session.pk}/gifts/"
    key = str(uuid.uuid4())
    first = send(api, url, {"gift": doughnut.pk, "count": 2}, key)
    assert first.status_code == 201
    Gift.objects.filter(pk=doughnut.pk).update(active=False)

    replays = [send(api, url, {"gift": doughnut.pk, "count": 2}, key) for _ in range(3)]

    assert [(r.status_code, r.json()) for r in replays] == [(201, first.json())] * 3
    # A new gift of the retired gift is still refused, and nothing moved twice.
    fresh = send(api, url, {"gift": doughnut.pk, "count": 2}, str(uuid.uuid4()))
    assert (fresh.status_code, fresh.json()["message"]) == (400, services.GIFT_UNAVAILABLE)
    assert send(api, url, {"gift": doughnut.pk, "count": 3}, key).status_code == 409
    assert GiftSend.objects.count() == 1
    assert coin_balance(user_id=viewer.pk) == 10_000 - 60
    assert diamond_balance(user_id=creator.user_id) == 60
    assert run_ledger_check().ok
