"""The media server's publish callbacks over HTTP: the shared secret, the answers nginx-rtmp
understands (302 to the public stream name, 403 to refuse), and the studio's stream page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from creators.models import Creator, StreamKey
from creators.services import stream_keys
from gifts.models import LiveSession

pytestmark = pytest.mark.django_db

SECRET = "test-callback-secret"


@pytest.fixture(autouse=True)
def _media_settings(settings: Any) -> None:
    settings.MEDIA_CALLBACK_SECRET = SECRET
    settings.MEDIA_RTMP_URL = "rtmp://127.0.0.1:1935/live"
    settings.MEDIA_HLS_URL = "http://127.0.0.1:8088/hls"
    settings.MEDIA_CONTROL_URL = ""  # nothing to drop in these tests


def _publish(client: Client, key: str, *, secret: str = SECRET, done: bool = False) -> Any:
    path = "/live/rtmp/publish_done/" if done else "/live/rtmp/publish/"
    call = "publish_done" if done else "publish"
    return client.post(
        f"{path}?secret={secret}", {"call": call, "app": "live", "name": key, "addr": "127.0.0.1"}
    )


def test_a_valid_key_is_let_in_under_the_sessions_public_name(client: Client, creator: Creator) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    response = _publish(client, key)
    session = LiveSession.objects.get(creator=creator, status="live")
    assert response.status_code == 302
    assert response["Location"] == f"live-{session.pk}"
    assert key not in response["Location"]
    assert _publish(client, f"live-{session.pk}", done=True).status_code == 200
    assert StreamKey.objects.get(creator=creator).disconnected_at is not None


def test_wrong_and_old_keys_are_refused(client: Client, creator: Creator) -> None:
    old = stream_keys.issue_stream_key(creator=creator)
    stream_keys.issue_stream_key(creator=creator)
    assert _publish(client, "live_not-a-key").status_code == 403
    assert _publish(client, old).status_code == 403
    assert not LiveSession.objects.filter(creator=creator).exists()


def test_a_callback_without_the_secret_is_refused(client: Client, creator: Creator) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    assert _publish(client, key, secret="wrong").status_code == 403
    assert client.get("/live/rtmp/publish/").status_code == 405
    assert not LiveSession.objects.filter(creator=creator).exists()


def test_the_studio_shows_the_ingest_url_and_a_new_key_once(client: Client, creator: Creator) -> None:
    client.force_login(creator.user)
    page = client.get("/studio/stream/").content.decode()
    assert "rtmp://127.0.0.1:1935/live" in page and "You have no stream key yet" in page
    response = client.post("/studio/stream/")
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert stream_keys.publishable_key(key=key) is not None
    again = client.get("/studio/stream/").content.decode()
    assert key not in again and "Your key is set" in again


def test_the_live_page_says_when_video_is_not_available(
    client: Client, live_session: LiveSession, settings: Any
) -> None:
    settings.MEDIA_RTMP_URL = settings.MEDIA_HLS_URL = ""
    page = client.get(f"/live/{live_session.pk}/").content.decode()
    assert "Live video is not available on this server." in page
    assert "hls.min.js" not in page


def test_the_live_page_plays_the_sessions_public_stream(client: Client, live_session: LiveSession) -> None:
    response = client.get(f"/live/{live_session.pk}/")
    page = response.content.decode()
    assert f'data-playlist="http://127.0.0.1:8088/hls/live-{live_session.pk}/index.m3u8"' in page
    assert "hasn&#x27;t started yet" in page or "hasn't started yet" in page
    assert "http://127.0.0.1:8088" in response.headers["Content-Security-Policy"]


def test_the_studio_says_youre_live_while_the_media_server_receives_the_stream(
    client: Client, creator: Creator
) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    client.force_login(creator.user)
    assert "Not streaming" in client.get("/studio/stream/").content.decode()
    _publish(client, key)
    page = client.get("/studio/stream/").content.decode()
    assert "You&#x27;re live" in page or "You're live" in page
    assert "data-playlist=" in page  # the preview
    _publish(client, key, done=True)
    assert "Not streaming" in client.get("/studio/stream/").content.decode()
