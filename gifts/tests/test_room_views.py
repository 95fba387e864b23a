"""The studio's chat and overlay page, and the overlay URL, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from creators.models import Creator
from gifts import chat, overlay, room_views, selectors
from gifts import errors as texts
from gifts.models import ChatMessage, LiveSession, OverlayKey, RoomBan, RoomModerator

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_creator_sets_slow_mode_links_and_blocked_words(creator: Creator) -> None:
    client = signed_in(creator.user)
    assert client.get("/studio/room/").status_code == 200
    response = client.post(
        "/studio/room/",
        {
            "do": "rules",
            "slow_mode_seconds": "15",
            "links_allowed": "on",
            "blocked_words": "spoiler\n\nscam ",
        },
        follow=True,
    )
    assert room_views.ROOM_SAVED in response.content.decode()
    rules = selectors.room_rules(creator_id=creator.pk)
    assert (rules.slow_mode_seconds, rules.links_allowed, rules.blocked_words) == (15, True, "spoiler\nscam")


def test_bad_rules_are_a_form_error_and_viewers_get_a_403(creator: Creator, viewer: Any) -> None:
    response = signed_in(creator.user).post("/studio/room/", {"do": "rules", "slow_mode_seconds": "99999"})
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 3600." in response.content.decode()
    response = signed_in(viewer).get("/studio/room/")
    assert response.status_code == 403
    assert texts.NOT_A_CREATOR in response.content.decode()


def test_the_creator_removes_a_moderator_and_lifts_a_ban(
    creator: Creator, live_session: LiveSession, viewer: Any, make_user: Callable[..., Any]
) -> None:
    mo = make_user(display_name="Mo")
    chat.appoint_moderator(actor=creator.user, creator=creator, user=mo)
    message = chat.post_message(author=viewer, session_id=live_session.pk, text="hi")
    chat.ban_author(actor=mo, message_id=message.pk)
    client = signed_in(creator.user)
    page = client.get("/studio/room/").content.decode()
    assert "Mo" in page and "banned" in page
    client.post("/studio/room/", {"do": "remove-moderator", "id": RoomModerator.objects.get().pk})
    client.post("/studio/room/", {"do": "lift-ban", "id": RoomBan.objects.get().pk})
    assert not RoomModerator.objects.exists() and not RoomBan.objects.exists()
    assert chat.post_message(author=viewer, session_id=live_session.pk, text="back")
    assert ChatMessage.objects.filter(deleted_at__isnull=True).count() == 1


def test_the_overlay_url_is_shown_once_stored_hashed_and_regenerable(
    creator: Creator, live_session: LiveSession
) -> None:
    client = signed_in(creator.user)
    first = client.post("/studio/room/", {"do": "overlay"})
    assert room_views.OVERLAY_ISSUED in first.content.decode()
    url = first.context["overlay_url"]
    path = url.split("testserver", 1)[1]
    key = path.strip("/").split("/")[-1]
    assert OverlayKey.objects.get().key_hash == overlay.key_hash(key) != key
    page = Client().get(path)
    assert page.status_code == 200
    assert f'data-ws-path="/ws/live/{live_session.pk}/?role=overlay"' in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")

    second = client.post("/studio/room/", {"do": "overlay"}).context["overlay_url"]
    assert second != url
    assert Client().get(path).status_code == 404
    assert Client().get("/overlay/ovl_guess/").status_code == 404


def test_the_overlay_of_a_creator_who_is_not_live_says_so(creator: Creator) -> None:
    key = overlay.issue_overlay_key(creator=creator)
    page = Client().get(f"/overlay/{key}/").content.decode()
    assert "is not live." in page and "data-ws-path" not in page
