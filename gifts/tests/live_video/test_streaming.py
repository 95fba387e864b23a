"""Live video end to end: ffmpeg publishes to a real nginx-rtmp with a creator's key, the
publish callback reaches the real ASGI server, Chromium plays the HLS with hls.js, and the
stream's end ends the session after the reconnect grace (a real Celery worker)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from creators.models import Creator
from creators.services import stream_keys
from gifts import selectors
from gifts.models import Gift, LiveSession
from gifts.tests.live_video.conftest import GRACE_SECONDS, LiveMedia, stop_push, wait_until

Push = Callable[[str, str], subprocess.Popen[bytes]]


def _live_session_of(creator: Creator) -> LiveSession | None:
    return LiveSession.objects.filter(creator=creator, status=LiveSession.Status.LIVE).first()


def _publishing(creator: Creator) -> bool:
    key = stream_keys.active_key_of(creator=creator)
    return key is not None and key.is_publishing


def test_a_creators_stream_goes_live_plays_in_chromium_and_ends_after_the_grace(
    live_media: LiveMedia,
    push: Push,
    creator: Creator,
    make_session: Callable[..., LiveSession],
    browser: Any,
    screenshot_dir: Path,
) -> None:
    session = make_session(creator)  # went live in the studio; the video starts later
    key = stream_keys.issue_stream_key(creator=creator)
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_media.site}/live/{session.pk}/")
        page.wait_for_selector("[data-player][data-state=offline]")
        assert "the video hasn't started yet" in page.inner_text("[data-player-message]")
        page.screenshot(path=str(screenshot_dir / "live-video-offline.png"))

        ffmpeg = push(live_media.nginx.rtmp_url, key)
        wait_until(lambda: _publishing(creator), timeout=15, what="the media server to accept the stream")
        assert _live_session_of(creator) == session  # the open session continues
        playlist = live_media.nginx.root / "hls" / f"live-{session.pk}" / "index.m3u8"
        wait_until(playlist.exists, timeout=15, what="nginx to write the HLS playlist")
        assert not list((live_media.nginx.root / "hls").glob(f"{key}*")), "the key must not name a stream"
        assert key not in page.content()
        page.wait_for_selector("[data-player][data-state=playing]", timeout=20_000)
        start = page.evaluate("document.querySelector('[data-player-video]').currentTime")
        page.wait_for_timeout(1500)
        later = page.evaluate("document.querySelector('[data-player-video]').currentTime")
        assert later > start, f"the video's time did not advance ({start} -> {later})"
        brightness = page.evaluate(
            """() => {
              const v = document.querySelector('[data-player-video]');
              const c = document.createElement('canvas');
              c.width = v.videoWidth; c.height = v.videoHeight;
              const g = c.getContext('2d');
              g.drawImage(v, 0, 0);
              const d = g.getImageData(0, 0, c.width, c.height).data;
              let sum = 0;
              for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
              return sum / (d.length / 4) / 3;
            }"""
        )
        assert brightness > 20, f"the frame is black (mean {brightness:.1f})"
        assert page.is_visible("[data-player-unmute]") and page.is_visible("[data-player-fullscreen]")
        assert not page.is_visible("[data-player-poster]")
        page.click("[data-player-unmute]")
        assert page.evaluate("document.querySelector('[data-player-video]').muted") is False
        page.screenshot(path=str(screenshot_dir / "live-video-playing.png"))
        assert not errors, errors

        stop_push(ffmpeg)
        stopped_at = time.monotonic()
        wait_until(
            lambda: LiveSession.objects.get(pk=session.pk).status == LiveSession.Status.ENDED,
            timeout=GRACE_SECONDS + 15,
            what="the session to end after the grace",
        )
        assert time.monotonic() - stopped_at >= GRACE_SECONDS - 0.5
        page.wait_for_selector("[data-player][data-state=ended]", timeout=10_000)
        page.screenshot(path=str(screenshot_dir / "live-video-ended.png"))
    finally:
        context.close()


def test_a_reconnect_within_the_grace_keeps_the_same_session_and_its_board(
    live_media: LiveMedia,
    push: Push,
    creator: Creator,
    viewer: Any,
    rose: Gift,
    gift_to: Callable[..., Any],
) -> None:
    key = stream_keys.issue_stream_key(creator=creator)
    first = push(live_media.nginx.rtmp_url, key)
    session = wait_until(lambda: _live_session_of(creator), timeout=15, what="the session to go live")
    gift_to(viewer, rose, 5, session=session)
    stop_push(first)
    wait_until(lambda: not _publishing(creator), timeout=10, what="publish_done")
    push(live_media.nginx.rtmp_url, key)  # OBS reconnecting
    wait_until(lambda: _publishing(creator), timeout=10, what="the reconnect")
    time.sleep(GRACE_SECONDS + 1.5)  # past the grace: the queued sweep ran and found it streaming
    assert _live_session_of(creator) == session
    assert LiveSession.objects.filter(creator=creator).count() == 1
    board = selectors.session_state(session=session).board
    assert [row.coins for row in board] == [5]


def test_wrong_old_and_suspended_keys_are_refused_by_the_media_server(
    live_media: LiveMedia, push: Push, make_creator: Callable[..., Creator]
) -> None:
    regenerating = make_creator()
    old = stream_keys.issue_stream_key(creator=regenerating)
    stream_keys.issue_stream_key(creator=regenerating)
    suspended = make_creator()
    suspended_key = stream_keys.issue_stream_key(creator=suspended)
    Creator.objects.filter(pk=suspended.pk).update(status=Creator.Status.SUSPENDED)

    attempts = [push(live_media.nginx.rtmp_url, k) for k in ("live_wrong-key", old, suspended_key)]
    for proc in attempts:
        assert proc.wait(15) != 0, "ffmpeg should have been refused"
    assert not LiveSession.objects.filter(creator__in=[regenerating, suspended]).exists()


def test_suspending_a_streaming_creator_cuts_the_stream_and_ends_the_session(
    live_media: LiveMedia, push: Push, creator: Creator, make_user: Callable[..., Any]
) -> None:
    from creators.services.moderation import suspend_creator
    from wallet.models import User

    staff = make_user(is_staff=True, is_superuser=True, role=User.Role.STAFF)
    key = stream_keys.issue_stream_key(creator=creator)
    ffmpeg = push(live_media.nginx.rtmp_url, key)
    session = wait_until(lambda: _live_session_of(creator), timeout=15, what="the session to go live")
    suspend_creator(creator_id=creator.pk, staff=staff, reason="Streaming what they should not")
    ffmpeg.wait(10)  # the media server dropped it
    wait_until(
        lambda: LiveSession.objects.get(pk=session.pk).status == LiveSession.Status.ENDED,
        timeout=GRACE_SECONDS + 15,
        what="the session to end",
    )
    assert push(live_media.nginx.rtmp_url, key).wait(15) != 0  # and it can't come back


def test_staff_ending_a_streamed_session_cuts_the_stream(
    live_media: LiveMedia, push: Push, creator: Creator, make_user: Callable[..., Any]
) -> None:
    from gifts import services
    from wallet.models import User

    staff = make_user(is_staff=True, is_superuser=True, role=User.Role.STAFF)
    ffmpeg = push(live_media.nginx.rtmp_url, stream_keys.issue_stream_key(creator=creator))
    session = wait_until(lambda: _live_session_of(creator), timeout=15, what="the session to go live")
    wait_until(lambda: _publishing(creator), timeout=10, what="the stream")
    services.end_live_session(session=session, ended_by=staff, reason="Against the rules")
    assert ffmpeg.wait(10) != 0  # the media server dropped the publisher
