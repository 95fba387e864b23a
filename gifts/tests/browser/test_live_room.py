"""The live room in real browsers (three contexts) through the real ASGI server, PostgreSQL and
the Redis channel layer: chat, moderation, likes, the viewer count and big-gift animations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from creators.models import Creator
from gifts import chat, overlay
from gifts import errors as texts
from gifts.models import ChatMessage, Gift, LiveSession, RoomBan
from gifts.tests.browser.test_live_page import choose, log_in


@contextmanager
def rooms(
    browser: Any, base: str, session: LiveSession, *users: Any, reduced_motion: str = "no-preference"
) -> Iterator[list[Any]]:
    """One signed-in page per user on the session, each with its websocket open; the last one
    with `reduced_motion` as its motion preference."""
    contexts = [
        browser.new_context(
            viewport={"width": 1200, "height": 1000},
            reduced_motion=reduced_motion if i == len(users) - 1 else "no-preference",
        )
        for i in range(len(users))
    ]
    try:
        pages = [log_in(ctx, base, user.email) for ctx, user in zip(contexts, users, strict=True)]
        for page in pages:
            page.goto(f"{base}/live/{session.pk}/")
            page.wait_for_selector("[data-live-session][data-connected]", timeout=5000)
        yield pages
    finally:
        for ctx in contexts:
            ctx.close()


def wait_text(page: Any, selector: str, text: str, timeout: int = 3000) -> None:
    # A function, not an expression: the site's Content-Security-Policy refuses eval().
    page.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.textContent || '').trim() === t",
        arg=[selector, text],
        timeout=timeout,
    )


@pytest.mark.django_db(transaction=True)
def test_chat_moderation_likes_and_viewers_move_in_every_open_page(
    asgi_server: str,
    browser: Any,
    screenshot_dir: Path,
    make_user: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
) -> None:
    alice = make_user("alice@example.com", display_name="Alice")
    moderator = make_user("mo@example.com", display_name="Mo")
    bob = make_user("bob@example.com", display_name="Bob")
    chat.appoint_moderator(actor=creator.user, creator=creator, user=moderator)

    with rooms(browser, asgi_server, live_session, alice, moderator, bob) as (a, mo, b):
        for page in (a, mo, b):
            wait_text(page, "[data-viewer-count]", "3")

        a.fill("#chat-text", "hello <b>room</b>")
        a.click("[data-testid=send-chat]")
        for page in (a, mo, b):
            page.wait_for_selector("[data-chat-log] li:has-text('hello <b>room</b>')", timeout=2000)
            assert page.locator("[data-chat-log] b").count() == 0  # text, never HTML
        message = ChatMessage.objects.get()
        assert b.text_content(f"[data-chat-id='{message.pk}'] .who") == "Alice"
        assert b.locator(f"[data-chat-id='{message.pk}'] button[data-action=delete]").count() == 0
        mo.screenshot(path=str(screenshot_dir / "moderator-before-delete.png"), full_page=True)

        mo.click(f"[data-chat-id='{message.pk}'] button[data-action=delete]")
        for page in (a, mo, b):
            page.wait_for_selector(f"[data-chat-id='{message.pk}']", state="detached", timeout=2000)

        a.fill("#chat-text", "you can't stop me")
        a.click("[data-testid=send-chat]")
        mo.wait_for_selector("[data-chat-log] li:has-text('you can')", timeout=2000)
        mo.click("[data-chat-log] li:has-text('you can') button[data-action=timeout]")
        b.wait_for_selector("[data-chat-log] li:has-text('you can')", state="detached", timeout=2000)
        until = RoomBan.objects.get(user=alice).until
        assert until is not None
        told = texts.CHAT_TIMED_OUT.format(until=until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
        wait_text(a, "[data-chat-status]", told)  # told at once
        assert b.text_content("[data-chat-status]") == ""  # and only them
        a.evaluate("() => { document.querySelector('[data-chat-status]').textContent = ''; }")
        a.fill("#chat-text", "let me back in")
        a.click("[data-testid=send-chat]")
        wait_text(a, "[data-chat-status]", told)  # and again when they try to post
        a.screenshot(path=str(screenshot_dir / "timed-out.png"), full_page=True)
        assert not ChatMessage.objects.filter(text="let me back in").exists()

        for _ in range(7):
            b.click("[data-testid=like]")
        for page in (a, mo):
            wait_text(page, "[data-like-count]", "7")
        b.context.close()
        for page in (a, mo):
            wait_text(page, "[data-viewer-count]", "2")
        a.screenshot(path=str(screenshot_dir / "viewer.png"), full_page=True)

    for name in ("moderator-before-delete.png", "timed-out.png", "viewer.png"):
        assert (screenshot_dir / name).stat().st_size > 0


@pytest.mark.django_db(transaction=True)
def test_a_big_gift_takes_over_the_video_area_in_every_page_and_the_overlay_alerts_it(
    asgi_server: str,
    browser: Any,
    screenshot_dir: Path,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    catalogue: dict[str, Gift],
) -> None:
    alice = make_user("alice@example.com", display_name="Alice")
    fund(alice, 5_000)
    bob = make_user("bob@example.com", display_name="Bob")
    key = overlay.issue_overlay_key(creator=creator)
    obs = browser.new_context(viewport={"width": 800, "height": 450})
    with rooms(browser, asgi_server, live_session, alice, bob, reduced_motion="reduce") as pages:
        sender, watcher = pages
        source = obs.new_page()
        source.goto(f"{asgi_server}/overlay/{key}/")
        source.wait_for_selector("[data-live-session][data-connected]", timeout=5000)
        for page in pages:
            wait_text(page, "[data-viewer-count]", "2")  # the overlay is not a viewer
        assert source.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgba(0, 0, 0, 0)"
        choose(sender, "Money Gun", 1)
        sender.click("[data-testid=send-gift]")
        source.wait_for_selector(".gift-takeover:has-text('Alice sent Money Gun')", timeout=3000)
        wait_text(source, "[data-session-board] li .who", "Alice")
        source.wait_for_timeout(600)
        source.screenshot(path=str(screenshot_dir / "overlay.png"), omit_background=True)
        for page in pages:
            page.wait_for_selector(
                "[data-gift-stage].active .gift-takeover:has-text('Alice sent Money Gun')", timeout=3000
            )
        assert sender.locator(".gift-takeover.still").count() == 0
        assert watcher.locator(".gift-takeover.still").count() == 1  # prefers-reduced-motion: no motion
        watcher.wait_for_timeout(600)
        watcher.screenshot(path=str(screenshot_dir / "big-gift.png"), full_page=True)
        watcher.click("[data-gift-stage]")  # skippable
        watcher.wait_for_selector("[data-gift-stage].active", state="detached", timeout=2000)
        assert watcher.get_attribute("[data-live-session]", "data-gift-playing") is None
    obs.close()
    for name in ("big-gift.png", "overlay.png"):
        assert (screenshot_dir / name).stat().st_size > 0
