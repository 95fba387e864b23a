"""A creator connects a payout account and sees the payout in real Chromium on a phone-sized
screen (the real ASGI app against the test database)."""

from __future__ import annotations

import pytest

from creators.models import PayoutAccount
from creators.payouts.services import driving
from tests.factories import give_diamonds


@pytest.mark.django_db(transaction=True)
def test_a_creator_connects_a_payout_account_and_sees_the_payout(
    asgi_server, browser, screenshot_dir, make_creator
):
    creator = make_creator()
    give_diamonds(creator, 4_001)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{asgi_server}/accounts/login/?next=/studio/payouts/")
        page.fill("input[name=login]", creator.user.email)
        page.fill("input[name=password]", "pw-Secret-123")
        page.click("form[action='/accounts/login/'] button[type=submit]")
        page.wait_for_url(f"{asgi_server}/studio/payouts/")
        page.click("text=Connect payout account")
        page.wait_for_url(f"{asgi_server}/studio/payouts/")
        assert page.locator("[data-testid=account-status]").inner_text() == "Verified"
        assert PayoutAccount.objects.get(creator=creator).is_verified

        driving.run_payout_batch(period="2026-W30")
        page.reload()
        row = page.locator("table[data-testid=payouts] tbody tr")
        assert row.count() == 1
        assert "Paid" in row.inner_text() and "$20.00" in row.inner_text()
        assert page.locator("[data-testid=paid-cash]").inner_text() == "$20.00"
        page.screenshot(path=str(screenshot_dir / "payouts.png"), full_page=True)
    finally:
        page.close()
    assert (screenshot_dir / "payouts.png").stat().st_size > 10_000
