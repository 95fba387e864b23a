"""Browser smoke test: a real Chromium signs up, logs in and sees a zero balance."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_log_in_and_see_a_zero_balance(browser, asgi_server, screenshot_dir):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{asgi_server}/accounts/signup/")
    page.fill("input[name=email]", "smoke@example.com")
    page.fill("input[name=display_name]", "Smoke")
    page.fill("input[name=date_of_birth]", "1990-02-03")
    page.fill("input[name=password1]", "a-Long-password-42")
    page.fill("input[name=password2]", "a-Long-password-42")
    page.click("button[type=submit]:has-text('Sign Up')")
    page.wait_for_url("**/me/")

    page.click("button:has-text('Log out')")
    page.goto(f"{asgi_server}/accounts/login/")
    page.fill("input[name=login]", "smoke@example.com")
    page.fill("input[name=password]", "a-Long-password-42")
    page.click("button[type=submit]:has-text('Sign In')")
    page.wait_for_url("**/me/")

    assert page.inner_text("[data-testid=coin-balance]") == "0"
    page.screenshot(path=str(screenshot_dir / "profile.png"), full_page=True)
    assert (screenshot_dir / "profile.png").stat().st_size > 0
    context.close()
