"""Stream keys and what the media server's callbacks do to live sessions, through the services
(no media server needed): which keys may publish, starting or resuming a session, and the
reconnect grace."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from coinsite import media_server
from creators.models import Creator, StreamKey
from creators.services import stream_keys
from gifts import live_video
from gifts.models import LiveSession
from wallet import errors

pytestmark = pytest.mark.django_db


def test_a_key_is_shown_once_and_only_its_hash_is_stored(creator: Creator) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    stored = StreamKey.objects.get(creator=creator)
    assert key.startswith("live_") and len(key) > 30
    assert stored.key_hash == stream_keys.key_hash(key) and key not in stored.key_hash
    assert stream_keys.publishable_key(key=key) == stored


def test_a_new_key_revokes_the_old_one(creator: Creator) -> None:
    old = stream_keys.issue_stream_key(creator=creator)
    new = stream_keys.issue_stream_key(creator=creator)
    assert stream_keys.publishable_key(key=old) is None
    assert stream_keys.publishable_key(key=new) is not None
    assert StreamKey.objects.filter(creator=creator, revoked_at__isnull=True).count() == 1


def test_a_suspended_creators_key_and_a_made_up_key_cannot_publish(creator: Creator) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    Creator.objects.filter(pk=creator.pk).update(status=Creator.Status.SUSPENDED)
    assert stream_keys.publishable_key(key=key) is None
    assert stream_keys.publishable_key(key="live_made-up") is None
    assert stream_keys.publishable_key(key="") is None
    with pytest.raises(errors.NotAllowed, match="not valid"):
        live_video.stream_published(key=key)


def test_only_approved_creators_get_a_key(make_creator: Callable[..., Creator]) -> None:
    applied = make_creator(status=Creator.Status.APPLIED)
    with pytest.raises(errors.NotAllowed):
        stream_keys.issue_stream_key(creator=applied)


def test_publishing_starts_a_live_session_named_for_the_public_stream(creator: Creator) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    session = live_video.stream_published(key=key)
    assert session.is_live and session.creator == creator
    stored = StreamKey.objects.get(creator=creator)
    assert stored.stream_name == media_server.stream_name(session.pk) == f"live-{session.pk}"
    assert stored.is_publishing
    assert live_video.publishing_key_of(session=session) == stored


def test_publishing_continues_the_creators_open_session(
    creator: Creator, make_session: Callable[..., LiveSession]
) -> None:
    open_session = make_session(creator)
    key = stream_keys.issue_stream_key(creator=creator)
    assert live_video.stream_published(key=key) == open_session
    assert LiveSession.objects.filter(creator=creator).count() == 1


def _later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


def test_a_stream_that_stays_down_past_the_grace_ends_its_session(creator: Creator, settings: Any) -> None:
    settings.LIVE_RECONNECT_GRACE_SECONDS = 10
    session = live_video.stream_published(key=stream_keys.issue_stream_key(creator=creator))
    live_video.stream_stopped(name=media_server.stream_name(session.pk))
    assert live_video.end_streams_past_grace(now=_later(5)) == []  # still within the grace
    session.refresh_from_db()
    assert session.is_live
    assert live_video.end_streams_past_grace(now=_later(11)) == [session.pk]
    session.refresh_from_db()
    assert session.status == LiveSession.Status.ENDED
    assert live_video.end_streams_past_grace(now=_later(20)) == []  # once


def test_a_reconnect_within_the_grace_keeps_the_same_session(creator: Creator, settings: Any) -> None:
    settings.LIVE_RECONNECT_GRACE_SECONDS = 10
    key = stream_keys.issue_stream_key(creator=creator)
    session = live_video.stream_published(key=key)
    live_video.stream_stopped(name=media_server.stream_name(session.pk))
    assert live_video.stream_published(key=key) == session
    assert live_video.end_streams_past_grace(now=_later(60)) == []
    session.refresh_from_db()
    assert session.is_live


def test_a_session_the_creator_ended_meanwhile_is_left_alone(creator: Creator, settings: Any) -> None:
    from gifts import services

    settings.LIVE_RECONNECT_GRACE_SECONDS = 1
    session = live_video.stream_published(key=stream_keys.issue_stream_key(creator=creator))
    live_video.stream_stopped(name=media_server.stream_name(session.pk))
    services.end_live_session(session=session, ended_by=creator.user)
    assert live_video.end_streams_past_grace(now=_later(5)) == []


def test_publish_done_for_an_unknown_stream_changes_nothing(creator: Creator) -> None:
    assert live_video.stream_stopped(name="live-999999") is None


def test_the_late_end_of_an_older_connection_does_not_mark_a_reconnected_stream_down(
    creator: Creator,
) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    session = live_video.stream_published(key=key, client_id="7")
    live_video.stream_published(key=key, client_id="9")  # the reconnect overtook the old end
    live_video.stream_stopped(name=key, client_id="7")
    assert StreamKey.objects.get(creator=creator).is_publishing
    live_video.stream_stopped(name=key, client_id="9")
    assert not StreamKey.objects.get(creator=creator).is_publishing
    assert session.is_live
