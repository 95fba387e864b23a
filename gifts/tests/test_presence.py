"""Viewer presence and like counts in the real Redis (`gifts.presence`)."""

from __future__ import annotations

import time

import pytest

from gifts import presence
from gifts.models import LiveSession


def test_a_connection_counts_until_it_leaves_or_its_heartbeats_stop(
    live_session: LiveSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = live_session.pk
    presence.here(sid, "tab-a")
    presence.here(sid, "tab-b")
    presence.here(sid, "tab-b")  # a heartbeat is not a second viewer
    assert presence.viewer_count(sid) == 2
    presence.gone(sid, "tab-a")  # a tab closed
    assert presence.viewer_count(sid) == 1

    monkeypatch.setattr(presence, "PRESENCE_TTL", 1)
    presence.here(sid, "tab-c")  # its connection dies: no more heartbeats
    presence.gone(sid, "tab-b")
    assert presence.viewer_count(sid) == 1
    time.sleep(1.1)
    assert presence.viewer_count(sid) == 0


def test_likes_add_up_per_session(live_session: LiveSession) -> None:
    assert presence.like_count(live_session.pk) == 0
    assert presence.add_likes(live_session.pk, 40) == 40
    assert presence.add_likes(live_session.pk, 2) == 42
    assert presence.like_count(live_session.pk) == 42
    assert presence.like_count(live_session.pk + 1) == 0
