"""A real Chromium buys coins on the real ASGI app with localstripe's Stripe.js stand-in."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from wallet import selectors
from wallet.models import CoinPurchase, Transaction
from wallet.tests.purchases.conftest import CARD_3DS, CARD_DECLINED, CARD_OK

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in_page(browser: Any, server: str, user: Any) -> tuple[Any, Any]:
    client = Client()
    client.force_login(user)
    context = browser.new_context()
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies["sessionid"].value,
                "url": server,
            }
        ]
    )
    return context, context.new_page()


def _fill_card(page: Any, number: str) -> None:
    page.wait_for_selector("input[placeholder=number]")
    page.fill("input[placeholder=number]", number)
    page.fill("input[placeholder=exp_month]", "12")
    page.fill("input[placeholder=exp_year]", "34")
    page.fill("input[placeholder=cvc]", "123")
    page.fill("input[placeholder=postal_code]", "42424")


def _wait_for_result(page: Any, *, three_d_secure_boxes: int = 0) -> str:
    """Wait for the page's result; click "Complete authentication" in each 3-D Secure box."""
    result = page.locator("[data-testid=purchase-result]:not([data-status='']):not([data-status=processing])")
    clicked = 0
    for _ in range(200):
        if result.count():
            break
        button = page.locator("button:has-text('Complete authentication')")
        if button.count():
            handle = button.first.element_handle()
            handle.click()
            page.wait_for_function("b => !b.isConnected", arg=handle)
            clicked += 1
            continue
        page.wait_for_timeout(100)
    assert clicked == three_d_secure_boxes
    return str(result.get_attribute("data-status"))


def test_a_viewer_buys_a_package_with_a_card_and_sees_the_balance_rise(
    stripe_settings, asgi_server, browser, screenshot_dir, make_user, packages
):
    user = make_user()
    context, page = _signed_in_page(browser, asgi_server, user)
    page.goto(f"{asgi_server}/coins/")
    assert page.inner_text("[data-testid=nav-balance] .coins") == "0"
    page.click("[data-testid=buy-package-700]")
    page.wait_for_url("**/coins/pay/*/")
    _fill_card(page, CARD_OK)
    page.click("[data-testid=pay]")
    assert _wait_for_result(page) == "paid"
    assert "Your balance is 700 coins" in page.inner_text("[data-testid=purchase-result]")
    assert page.inner_text("[data-testid=nav-balance] .coins") == "700"
    page.screenshot(path=str(screenshot_dir / "paid.png"), full_page=True)

    # Reload and back: nothing is charged or credited again.
    page.reload()
    page.wait_for_url("**/coins/purchases/*/")
    assert page.get_attribute("[data-testid=receipt-status]", "data-status") == "paid"
    page.go_back()
    page.go_back()
    page.wait_for_load_state()
    purchase = CoinPurchase.objects.get()
    assert purchase.status == "paid"
    assert selectors.coin_balance(user_id=user.pk) == 700
    assert Transaction.objects.filter(kind="purchase").count() == 1
    assert (screenshot_dir / "paid.png").stat().st_size > 0
    context.close()


@pytest.mark.parametrize(
    ("card", "boxes", "status", "message", "balance"),
    [
        (CARD_DECLINED, 0, "failed", "Your card was declined.", 0),
        (CARD_3DS, 2, "paid", "Your balance is 350 coins", 350),
    ],
    ids=["declined", "3d-secure"],
)
def test_a_decline_and_3d_secure_in_the_browser(
    stripe_settings,
    asgi_server,
    browser,
    screenshot_dir,
    make_user,
    packages,
    card,
    boxes,
    status,
    message,
    balance,
):
    user = make_user()
    context, page = _signed_in_page(browser, asgi_server, user)
    page.goto(f"{asgi_server}/coins/")
    page.click("[data-testid=buy-package-350]")
    page.wait_for_url("**/coins/pay/*/")
    _fill_card(page, card)
    page.click("[data-testid=pay]")
    assert _wait_for_result(page, three_d_secure_boxes=boxes) == status
    assert message in page.inner_text("[data-testid=purchase-result]")
    page.screenshot(path=str(screenshot_dir / f"{status}.png"), full_page=True)
    assert selectors.coin_balance(user_id=user.pk) == balance
    context.close()
