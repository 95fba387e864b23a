"""Live video: what the media server's publish callbacks do to live sessions.

    publish (a valid key of an approved creator)  -> start that creator's live session, or
                                                     resume the open one; stream as live-<id>
    publish_done                                  -> the stream is down; the session ends when
                                                     it stays down LIVE_RECONNECT_GRACE_SECONDS
    staff end a session / suspend a creator       -> the stream is cut (creators.services.stream_keys)

Keys are checked by `creators.services.stream_keys`; sessions start and end through
`gifts.services`. The end after the grace is one sweep (`end_streams_past_grace`), queued with
a countdown when a stream goes down and run by beat as well, so a lost task only delays it.
"""

from __future__ import annotations

import datetime
import logging

from celery import Task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from coinsite import media_server
from creators.models import StreamKey
from creators.services import stream_keys
from gifts import errors as gifts_errors
from gifts import selectors, services
from gifts.models import LiveSession
from wallet import errors

logger = logging.getLogger(__name__)

SESSION_TITLE = "{name} is live"


def stream_published(*, key: str, client_id: str = "") -> LiveSession:
    """The media server asks whether `key` may publish. Yes for the active key of an approved
    creator: their open live session continues (a reconnect keeps its gifts and board), or a
    new one starts. Returns the session whose public stream name the publisher is renamed to."""
    found = stream_keys.publishable_key(key=key)
    if found is None:
        raise errors.NotAllowed(gifts_errors.STREAM_KEY_REFUSED)
    with transaction.atomic():
        stream_key = StreamKey.objects.select_for_update().get(pk=found.pk)
        if stream_key.revoked_at is not None:  # regenerated while we looked
            raise errors.NotAllowed(gifts_errors.STREAM_KEY_REFUSED)
        creator = found.creator
        session = selectors.live_session_of(creator_id=creator.pk)
        if session is None:
            session = services.start_live_session(
                creator=creator, title=SESSION_TITLE.format(name=creator.display_name)[:120]
            )
        stream_key.stream_name = media_server.stream_name(session.pk)
        stream_key.publishing_since = timezone.now()
        stream_key.publisher_client_id = client_id[:20]
        stream_key.disconnected_at = None
        stream_key.save(
            update_fields=["stream_name", "publishing_since", "publisher_client_id", "disconnected_at"]
        )
    return session


def stream_stopped(*, name: str, client_id: str = "") -> StreamKey | None:
    """The media server says the publisher of `name` (the public stream name, or the key it
    connected with) over connection `client_id` has gone. Its session ends after the grace
    unless it publishes again. The end of an older connection than the one publishing now
    changes nothing."""
    with transaction.atomic():
        stream_key = (
            StreamKey.objects.select_for_update()
            .filter(stream_name=name)
            .order_by("-publishing_since", "-pk")
            .first()
        ) or StreamKey.objects.select_for_update().filter(key_hash=stream_keys.key_hash(name)).first()
        if stream_key is None or stream_key.publishing_since is None:
            return stream_key
        if client_id and stream_key.publisher_client_id and client_id != stream_key.publisher_client_id:
            return stream_key
        stream_key.publishing_since = None
        stream_key.disconnected_at = timezone.now()
        stream_key.save(update_fields=["publishing_since", "disconnected_at"])
        transaction.on_commit(_queue_sweep_after_grace, robust=True)
    return stream_key


def grace() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.LIVE_RECONNECT_GRACE_SECONDS)


def end_streams_past_grace(*, now: datetime.datetime | None = None) -> list[int]:
    """End the live session of every stream that has been down longer than the grace; the ids
    of the sessions ended. Safe to run twice or concurrently (each stream is handled once,
    under its row lock)."""
    cutoff = (now or timezone.now()) - grace()
    ended: list[int] = []
    candidates = StreamKey.objects.filter(publishing_since__isnull=True, disconnected_at__lte=cutoff)
    for pk in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            stream_key = (
                StreamKey.objects.select_for_update()
                .select_related("creator__user")
                .filter(pk=pk, publishing_since__isnull=True, disconnected_at__lte=cutoff)
                .first()
            )
            if stream_key is None:
                continue
            stream_key.disconnected_at = None
            stream_key.save(update_fields=["disconnected_at"])
            session_id = media_server.session_id_of(stream_key.stream_name)
            session = (
                LiveSession.objects.select_related("creator").filter(pk=session_id).first()
                if session_id is not None
                else None
            )
            if session is None or not session.is_live:
                continue
            try:
                services.end_live_session(session=session, ended_by=stream_key.creator.user)
            except errors.WrongState:
                continue  # ended by the creator or staff meanwhile
            ended.append(session.pk)
    return ended


def publishing_key_of(*, session: LiveSession) -> StreamKey | None:
    """The key publishing `session`'s stream right now, if any (the engine told us so)."""
    return StreamKey.objects.filter(
        stream_name=media_server.stream_name(session.pk), publishing_since__isnull=False
    ).first()


def _queue_sweep_after_grace() -> None:
    from gifts.tasks import end_streams_past_grace as task

    _send_later(task, countdown=settings.LIVE_RECONNECT_GRACE_SECONDS + 0.5)


def _send_later(task: Task, *, countdown: float) -> None:
    try:
        task.apply_async(countdown=countdown, retry=True, retry_policy={"max_retries": 1})
    except (BrokerUnavailable, ConnectionError, TimeoutError, OSError) as exc:
        logger.error("could not queue %s (%s); beat's sweep will catch up", task.name, exc)
