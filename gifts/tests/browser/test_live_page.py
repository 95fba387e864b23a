"""Two real browsers on one live session, through the real ASGI server (uvicorn), PostgreSQL
and the Redis channel layer: a gift sent in one shows up in the other without a reload."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creators.models import Creator
from gifts import services
from gifts.models import Gift, GiftSend, LiveSession
from wallet.selectors import diamond_balance

PASSWORD = "pw-Secret-123"


def log_in(context: Any, base: str, email: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/me/")
    return page


def choose(page: Any, gift: str, combo: int) -> None:
    page.locator("label.gift-choice", has_text=gift).click()
    page.click(f"button[data-combo='{combo}']")


@pytest.mark.django_db(transaction=True)
def test_a_gift_sent_in_one_browser_appears_in_another_within_two_seconds(
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
    fund(bob, 100)
    live_url = f"{asgi_server}/live/{live_session.pk}/"
    contexts = [browser.new_context(viewport={"width": 1200, "height": 1000}) for _ in range(2)]
    try:
        sender, watcher = (
            log_in(ctx, asgi_server, user.email) for ctx, user in zip(contexts, (alice, bob), strict=True)
        )
        for page in (sender, watcher):
            page.goto(live_url)
            page.wait_for_selector("[data-live-session][data-connected]", timeout=5000)
        watcher.evaluate("window.__sameDocument = true")

        choose(sender, "Doughnut", 5)
        assert sender.text_content("[data-gift-total]") == "Total: 150 coins"
        started = time.monotonic()
        sender.click("[data-testid=send-gift]")
        watcher.wait_for_selector("[data-gift-feed] li:has-text('Doughnut')", timeout=2000)
        assert time.monotonic() - started < 2.0
        assert watcher.text_content("[data-gift-feed] li") == "Alice sent 🍩 Doughnut ×5"
        watcher.wait_for_function(
            # A function, not an expression: Playwright evaluates an expression with eval(), which
            # the site's Content-Security-Policy (no 'unsafe-eval') refuses.
            "() => document.querySelector('[data-session-board] li')?.textContent.includes('150')",
            timeout=2000,
        )
        assert "Alice" in watcher.text_content("[data-session-board] li")

        choose(sender, "Rose", 10)
        started = time.monotonic()
        sender.click("[data-testid=send-gift]")
        watcher.wait_for_function(
            "() => document.querySelector('[data-goal-text]').textContent.includes('10 / 1,000 Rose')",
            timeout=2000,
        )
        assert time.monotonic() - started < 2.0
        assert watcher.evaluate("window.__sameDocument") is True  # no reload happened
        assert watcher.text_content("[data-total-coins]") == "160"

        sender.wait_for_function(
            "() => document.querySelector('[data-gift-status]').textContent.startsWith('You sent 🌹 Rose')"
        )
        assert sender.text_content("[data-gift-balance]") == "4,840"

        # Bob (100 coins) tries 5 Hand Hearts: a clear message and a way to get coins.
        choose(watcher, "Hand Hearts", 5)
        watcher.click("[data-testid=send-gift]")
        watcher.wait_for_selector("[data-gift-status].error a[href='/coins/']", timeout=2000)
        assert services.NOT_ENOUGH_COINS in watcher.text_content("[data-gift-status]")

        sender.screenshot(path=str(screenshot_dir / "sender.png"), full_page=True)
        watcher.screenshot(path=str(screenshot_dir / "watcher.png"), full_page=True)
    finally:
        for ctx in contexts:
            ctx.close()

    assert GiftSend.objects.count() == 2
    assert diamond_balance(user_id=creator.user_id) == 160
    assert (screenshot_dir / "sender.png").stat().st_size > 0
    assert (screenshot_dir / "watcher.png").stat().st_size > 0


@pytest.mark.django_db(transaction=True)
def test_an_open_live_page_learns_that_the_session_ended(
    asgi_server: str,
    browser: Any,
    screenshot_dir: Path,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    rose: Gift,
) -> None:
    viewer = make_user("carol@example.com", display_name="Carol")
    fund(viewer, 10)
    context = browser.new_context()
    try:
        page = log_in(context, asgi_server, viewer.email)
        page.goto(f"{asgi_server}/live/{live_session.pk}/")
        page.wait_for_selector("[data-live-session][data-connected]", timeout=5000)
        services.end_live_session(session=live_session, ended_by=creator.user)
        page.wait_for_selector("[data-live-session][data-status='ended']", timeout=2000)
        assert page.text_content("[data-live-status]") == "Ended"
        assert page.locator("[data-gift-form]").count() == 0
        assert page.text_content("[data-gift-panel] .note") == services.SESSION_ENDED
        page.screenshot(path=str(screenshot_dir / "ended.png"), full_page=True)
    finally:
        context.close()
