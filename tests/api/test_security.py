"""The security floor: the Content-Security-Policy and other headers, no inline scripts on the
pages, Swagger UI served from the installed sidecar (no CDN), CSRF enforced for
session-authenticated API writes. Production start-up and `check --deploy` are in
tests/test_production_start_up.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import World
from wallet.purchases import checkout

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def test_pages_send_a_policy_that_allows_only_our_scripts_and_stripe_js(
    client: Client, settings: Any
) -> None:
    settings.STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    response = client.get("/")
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", "http://127.0.0.1:8420"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8420"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["default-src"] == ["'self'"] and policy["base-uri"] == ["'self'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_with_real_stripe_js_the_policy_allows_its_3d_secure_frames(client: Client, settings: Any) -> None:
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**directives, "report-uri": "/csp-report/"}}
    policy = _directives(client.get("/").headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert policy["frame-src"] == [
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    ]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert policy["report-uri"] == ["/csp-report/"]


class _Scripts(HTMLParser):
    """Inline scripts (a <script> with code and no src) and inline event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.inline += [f"{tag} {name}" for name in names if name.startswith("on")]
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self._in_inline_script = True

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.inline.append(data.strip()[:80])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def test_the_pages_have_no_inline_scripts(world: World, stripe_settings: Any) -> None:
    purchase = checkout.start_purchase(
        user=world.viewer, idempotency_key=str(uuid.uuid4()), package_id=world.package.pk
    )
    pages = {
        world.viewer: [
            "/",
            "/me/",
            "/coins/",
            f"/coins/pay/{purchase.pk}/",
            "/live/",
            f"/live/{world.session.pk}/",
            f"/posts/{world.post.pk}/",
            f"/merch/{world.item.pk}/",
            f"/c/{world.creator.handle}/",
            "/api/docs/",
        ],
        world.owner: ["/studio/", "/studio/orders/", "/studio/payouts/", "/studio/live/"],
        world.staff: ["/admin/"],
        None: ["/accounts/login/", "/accounts/signup/"],
    }
    for user, paths in pages.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            parser = _Scripts()
            parser.feed(response.content.decode())
            assert parser.inline == [], (path, parser.inline)


def test_swagger_ui_comes_from_the_installed_sidecar_not_a_cdn(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(url.startswith("/") for url in assets), assets
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in url for url in assets)
    for url in assets:
        response: Any = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, url
    script = client.get("/api/docs/?script=")
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in script.content
    docs_policy = _directives(client.get("/api/docs/").headers["Content-Security-Policy"])
    assert docs_policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in docs_policy["script-src"]


def test_a_session_write_to_the_api_needs_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.viewer)
    path = f"/api/v1/live/{world.session.pk}/gifts/"
    body = {"gift": world.rose.pk, "count": 1}
    refused = client.post(
        path, body, content_type="application/json", headers={"Idempotency-Key": "csrf-0001"}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"

    client.get("/coins/")  # any page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    sent = client.post(
        path,
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "csrf-0001", "X-CSRFToken": token},
    )
    assert sent.status_code == 201


def test_token_requests_need_no_csrf_token(world: World, api_as: Callable[..., Any]) -> None:
    client = api_as(world.viewer)
    client.handler.enforce_csrf_checks = True
    response = client.post(
        f"/api/v1/live/{world.session.pk}/gifts/",
        {"gift": world.rose.pk, "count": 1},
        format="json",
        headers={"Idempotency-Key": "csrf-0002"},
    )
    assert response.status_code == 201
