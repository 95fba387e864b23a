"""A real browser: a Moderator logs in at /admin/login/, freezes a viewer's wallet with a reason
on the action's reason page, and the viewer (a second browser context) then cannot send a gift
from the live page, through the real ASGI server and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creators.models import Creator
from gifts.models import Gift, LiveSession
from wallet import errors, services
from wallet.models import Account, AuditEntry
from wallet.moderation.groups import MODERATOR
from wallet.selectors import coin_balance

PASSWORD = "pw-Secret-123"

FETCH_GIFT = """async (giftId) => {
    const form = document.querySelector("[data-gift-form]");
    const response = await fetch(form.dataset.apiUrl, {
        method: "POST", credentials: "same-origin",
        body: JSON.stringify({gift: giftId, count: 1}),
        headers: {"Accept": "application/json", "Content-Type": "application/json",
                  "Idempotency-Key": crypto.randomUUID(),
                  "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value},
    });
    return {status: response.status, body: await response.json()};
}"""


@pytest.mark.django_db(transaction=True)
def test_a_moderator_freezes_a_wallet_in_admin_and_the_viewer_can_no_longer_gift(
    asgi_server: str,
    browser: Any,
    screenshot_dir: Path,
    make_user: Callable[..., Any],
    make_staff: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    rose: Gift,
) -> None:
    viewer = make_user("frozen.viewer@example.com", display_name="Vera Viewer")
    fund(viewer, 100)
    moderator = make_staff(MODERATOR, email="mod@example.com")
    wallet = services.coin_account(user_id=viewer.pk)
    live_url = f"{asgi_server}/live/{live_session.pk}/"
    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    viewer_ctx = browser.new_context(viewport={"width": 1000, "height": 1000})
    try:
        # The viewer can gift before the freeze.
        fan = viewer_ctx.new_page()
        fan.goto(f"{asgi_server}/accounts/login/")
        fan.fill("input[name=login]", viewer.email)
        fan.fill("input[name=password]", PASSWORD)
        fan.click("form[action='/accounts/login/'] button[type=submit]")
        fan.wait_for_url(f"{asgi_server}/me/")
        fan.goto(live_url)
        fan.click("[data-testid=send-gift]")
        fan.wait_for_selector("[data-gift-status].success:has-text('You sent')", timeout=5000)
        assert coin_balance(user_id=viewer.pk) == 99

        # The moderator freezes the wallet from the accounts list, with a reason.
        admin = staff_ctx.new_page()
        admin.goto(f"{asgi_server}/admin/login/")
        admin.fill("input[name=username]", moderator.email)
        admin.fill("input[name=password]", PASSWORD)
        admin.click("input[type=submit]")
        admin.wait_for_url(f"{asgi_server}/admin/")
        admin.goto(f"{asgi_server}/admin/wallet/account/?q={viewer.email}")
        admin.check(f"input[name=_selected_action][value='{wallet.pk}']")
        admin.select_option("select[name=action]", "freeze_wallets")
        admin.click("button[name=index]")
        admin.wait_for_selector("textarea[name=reason]")
        admin.click("input[name=apply]")  # no reason yet: refused with a clear error
        admin.wait_for_selector(f".errorlist:has-text('{errors.REASON_REQUIRED}')")
        admin.fill("textarea[name=reason]", "Card testing from this account")
        admin.click("input[name=apply]")
        admin.wait_for_selector("ul.messagelist li.success:has-text('frozen')")
        admin.screenshot(path=str(screenshot_dir / "admin-frozen.png"), full_page=True)

        frozen = Account.objects.get(pk=wallet.pk)
        assert (frozen.frozen, frozen.frozen_reason) == (True, "Card testing from this account")
        entry = AuditEntry.objects.get()
        assert (entry.actor_id, entry.action, entry.reason) == (
            moderator.pk,
            "wallet.freeze",
            "Card testing from this account",
        )

        # The viewer's gift button is refused now, and so is a direct POST to the API's gift endpoint.
        fan.goto(live_url)
        fan.click("[data-testid=send-gift]")
        fan.wait_for_selector(f"[data-gift-status].error:has-text('{errors.AccountFrozen.default_message}')")
        fan.screenshot(path=str(screenshot_dir / "viewer-refused.png"), full_page=True)
        direct = fan.evaluate(FETCH_GIFT, rose.pk)
        assert direct["status"] == 423 and direct["body"]["code"] == "account_frozen"
        assert coin_balance(user_id=viewer.pk) == 99
        for name in ("admin-frozen.png", "viewer-refused.png"):
            assert (screenshot_dir / name).stat().st_size > 0
    finally:
        staff_ctx.close()
        viewer_ctx.close()
