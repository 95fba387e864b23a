"""The Content-Security-Policy in a real browser (Chromium against the ASGI app): the card page
loads Stripe.js (localstripe's stand-in, cross-origin) and renders the card element, the live
page's websocket connects, Swagger UI renders from the sidecar, the log-in form works, and
none of it reports a single CSP violation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.api.conftest import World
from wallet.purchases import checkout

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _context(browser: Any, server: str, user: Any | None) -> Any:
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": server}])
    return context


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp"))


def test_the_site_works_under_its_content_security_policy(
    stripe_settings: Any, asgi_server: str, browser: Any, world: World
) -> None:
    purchase = checkout.start_purchase(
        user=world.viewer, idempotency_key=str(uuid.uuid4()), package_id=world.package.pk
    )
    context = _context(browser, asgi_server, world.viewer)
    try:
        page = context.new_page()
        response = page.goto(f"{asgi_server}/coins/pay/{purchase.pk}/")
        assert (
            "script-src 'self' " + stripe_settings.STRIPE_API_BASE
            in response.headers["content-security-policy"]
        )
        page.wait_for_selector("input[placeholder=number]", timeout=10_000)  # Stripe.js ran
        assert _violations(page) == []

        page.goto(f"{asgi_server}/live/{world.session.pk}/")
        page.wait_for_selector("[data-live-session][data-connected]", timeout=10_000)  # websocket up
        assert _violations(page) == []

        page.goto(f"{asgi_server}/api/docs/")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
        assert "CoinSite API" in page.inner_text(".swagger-ui .info .title")
        assert _violations(page) == []
    finally:
        context.close()

    anonymous = _context(browser, asgi_server, None)
    try:
        page = anonymous.new_page()
        page.goto(f"{asgi_server}/accounts/login/")
        page.fill("input[name=login]", world.viewer.email)
        page.fill("input[name=password]", "pw-Secret-123")
        page.click("form[action='/accounts/login/'] button[type=submit]")
        page.wait_for_url(f"{asgi_server}/me/")
        assert _violations(page) == []
    finally:
        anonymous.close()
