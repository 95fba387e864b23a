"""Rate limits: DRF scoped throttles on token obtain, purchases, gifts and spending (rates from
settings); allauth's limits on the log-in and sign-up pages and on failed log-ins, which the
token endpoint shares. Reads are never throttled."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from gifts.models import GiftSend
from tests.api.conftest import World, ledger_snapshot
from wallet.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


def _rates(settings: Any, **rates: str) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
    settings.REST_FRAMEWORK = rest


def _post(client: APIClient, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(
        path,
        "" if body is None else json.dumps(body),
        content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def test_gifts_over_the_rate_are_a_429_and_move_nothing(
    settings: Any, world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    _rates(settings, gifts="2/min")
    client = api_as(world.viewer)
    path, body = f"/api/v1/live/{world.session.pk}/gifts/", {"gift": world.rose.pk, "count": 1}
    assert [_post(client, path, body).status_code for _ in range(2)] == [201, 201]
    before = ledger_snapshot()
    throttled = _post(client, path, body)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled" and 0 < throttled.json()["extra"]["retry_after"] <= 61
    assert "Retry-After" in throttled.headers
    assert ledger_snapshot() == before and GiftSend.objects.count() == 2
    # Another viewer has its own allowance, and reads are not counted.
    assert _post(api_as(world.other_creator), path, body).status_code == 201
    assert client.get(f"/api/v1/live/{world.session.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("scope", "path", "body"),
    [
        ("purchases", "/api/v1/coins/purchases/", {"custom_coins": 50}),
        ("spending", "/api/v1/posts/{post}/unlock/", None),
    ],
)
def test_purchases_and_spending_have_their_own_limits(
    scope: str,
    path: str,
    body: dict[str, Any] | None,
    settings: Any,
    world: World,
    api_as: Callable[[User | None], APIClient],
    stripe_settings: Any,
) -> None:
    _rates(settings, **{scope: "1/min"})
    client = api_as(world.viewer)
    path = path.format(post=world.post.pk)
    assert _post(client, path, body).status_code == 201
    assert _post(client, path, body).status_code == 429


def test_obtaining_a_token_with_email_and_password(world: World) -> None:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"email": world.viewer.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get("/api/v1/wallet/", headers={"Authorization": f"Token {token}"}).status_code == 200
    again = client.post(
        "/api/v1/auth/token/", {"email": world.viewer.email, "password": PASSWORD}, format="json"
    )
    assert again.json()["token"] == token
    wrong = client.post(
        "/api/v1/auth/token/", {"email": world.viewer.email, "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_credentials"
    # A stale token header does not get in the way of obtaining a new one.
    revoked = client.delete("/api/v1/auth/token/", headers={"Authorization": f"Token {token}"})
    assert revoked.status_code == 204
    fresh = client.post(
        "/api/v1/auth/token/",
        {"email": world.viewer.email, "password": PASSWORD},
        format="json",
        headers={"Authorization": f"Token {token}"},
    )
    assert fresh.status_code == 200 and fresh.json()["token"] != token


def test_token_requests_are_throttled_per_client(settings: Any, world: World) -> None:
    _rates(settings, auth_token="3/min")
    client = APIClient()
    body = {"email": world.viewer.email, "password": PASSWORD}
    statuses = [client.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_failed_logins_are_limited_per_address_on_the_api_and_the_page_alike(
    settings: Any, world: World
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip,3/300s/key"}
    api = APIClient()
    wrong = {"email": world.viewer.email, "password": "guess"}
    assert [api.post("/api/v1/auth/token/", wrong, format="json").status_code for _ in range(3)] == [400] * 3
    locked = api.post(
        "/api/v1/auth/token/", {"email": world.viewer.email, "password": PASSWORD}, format="json"
    )
    assert locked.status_code == 429 and locked.json()["code"] == "throttled"
    page = Client().post("/accounts/login/", {"login": world.viewer.email, "password": PASSWORD})
    assert page.status_code != 302 and "Too many failed login attempts" in page.content.decode()
    # Another address is not affected.
    other = api.post("/api/v1/auth/token/", {"email": world.owner.email, "password": PASSWORD}, format="json")
    assert other.status_code == 200


def test_the_login_and_signup_pages_are_rate_limited(settings: Any, make_user: Callable[..., User]) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip", "signup": "1/m/ip"}
    user = make_user()
    statuses = [
        Client().post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code
        for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    signup = {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password1": "A-long-Passw0rd!",
        "password2": "A-long-Passw0rd!",
        "date_of_birth": "1990-01-01",
    }
    first = Client().post("/accounts/signup/", signup)
    second = Client().post("/accounts/signup/", {**signup, "email": f"x{signup['email']}"})
    assert first.status_code == 302 and second.status_code == 429


def test_the_default_rates_let_64_clients_through(settings: Any) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    per_minute = {scope: int(rate.split("/")[0]) for scope, rate in rates.items()}
    assert per_minute["auth_token"] >= 64 and per_minute["gifts"] >= 1000
