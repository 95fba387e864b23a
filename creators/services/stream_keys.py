"""Stream keys: each approved creator has one active RTMP key, shown once when it is issued,
stored as its SHA-256. The media server's publish callback checks a key here; what the
stream then does to live sessions is gifts' business (`gifts.live_video`).

A key publishes only while its creator is approved: a suspended creator's key is refused,
and suspending a creator, revoking a key or ending a session cuts the running stream
(`cut_stream`).
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from coinsite import media_server
from creators import errors as creators_errors
from creators.models import Creator, StreamKey
from wallet import errors

KEY_PREFIX = "live_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_stream_key(*, creator: Creator) -> str:
    """A new key for `creator`, returned once (only its hash is kept); the old key stops
    working at once and a stream running on it is cut."""
    if creator.status != Creator.Status.APPROVED:
        raise errors.NotAllowed(creators_errors.STREAM_NOT_APPROVED)
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    now = timezone.now()
    with transaction.atomic():
        Creator.objects.select_for_update().filter(pk=creator.pk).first()  # serialise two clicks
        old = list(StreamKey.objects.filter(creator=creator, revoked_at__isnull=True))
        StreamKey.objects.filter(pk__in=[k.pk for k in old]).update(revoked_at=now)
        StreamKey.objects.create(creator=creator, key_hash=key_hash(key), created_at=now)
        for revoked in old:
            _cut_on_commit(revoked)
    return key


def active_key_of(*, creator: Creator) -> StreamKey | None:
    return StreamKey.objects.filter(creator=creator, revoked_at__isnull=True).first()


def publishable_key(*, key: str) -> StreamKey | None:
    """The active key `key` names if its creator may stream now (approved); else None."""
    if not key or len(key) > 200:
        return None
    found = (
        StreamKey.objects.select_related("creator", "creator__user")
        .filter(key_hash=key_hash(key), revoked_at__isnull=True)
        .first()
    )
    if found is None or found.creator.status != Creator.Status.APPROVED:
        return None
    return found


def cut_stream(*, creator_id: int) -> None:
    """After the current transaction commits, drop whatever `creator_id` is publishing."""
    for key in StreamKey.objects.filter(creator_id=creator_id, publishing_since__isnull=False):
        _cut_on_commit(key)


def _cut_on_commit(key: StreamKey) -> None:
    if key.stream_name:
        name = key.stream_name
        transaction.on_commit(lambda: media_server.drop_publisher(name), robust=True)
