"""The OBS overlay: a browser source at a secret URL per creator (`/overlay/<key>/`) that shows
gift alerts, the goal bar and the top gifter of the creator's current live session on a
transparent background. The key is shown once when issued and stored as its SHA-256, like
stream keys (`creators.services.stream_keys`); issuing a new one retires the old URL.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from creators.models import Creator
from gifts.models import OverlayKey

KEY_PREFIX = "ovl_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_overlay_key(*, creator: Creator) -> str:
    """A new overlay key for `creator`, returned once; the old URL stops working at once."""
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    with transaction.atomic():
        OverlayKey.objects.update_or_create(
            creator=creator, defaults={"key_hash": key_hash(key), "created_at": timezone.now()}
        )
    return key


def creator_of_overlay(*, key: str) -> Creator | None:
    """The creator whose current overlay key is `key`, or None."""
    if not key or len(key) > 200:
        return None
    found = OverlayKey.objects.select_related("creator").filter(key_hash=key_hash(key)).first()
    return None if found is None else found.creator
