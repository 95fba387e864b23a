"""One error format for the API, and never a 500 for bad input: unknown paths, wrong methods,
wrong media types, unparsable bodies and unacceptable Accept headers all answer
{"code", "message", "extra"} with a 4xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import World
from wallet.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/api/v1/no-such-thing/", {}, 404, "not_found"),
        ("POST", "/api/v1/no-such-thing/", {}, 404, "not_found"),
        ("GET", "/api/v1/live/1234567890123456789012/", {}, 404, "not_found"),
        ("GET", "/api/v1/live/abc/", {}, 404, "not_found"),
        ("GET", "/api/v1/wallet", {}, 404, "not_found"),
        ("DELETE", "/api/v1/gifts/", {}, 405, "method_not_allowed"),
        ("PUT", "/api/v1/wallet/", {}, 405, "method_not_allowed"),
        (
            "POST",
            "/api/v1/live/{session}/gifts/",
            {"data": "gift=1&count=1", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/live/{session}/gifts/",
            {"data": '{"gift": 1,', "content_type": "application/json"},
            400,
            "parse_error",
        ),
        (
            "POST",
            "/api/v1/live/{session}/gifts/",
            {"data": b"\xff\xfe{}", "content_type": "application/json"},
            400,
            "parse_error",
        ),
        ("GET", "/api/v1/gifts/", {"headers": {"Accept": "text/html"}}, 406, "not_acceptable"),
        ("GET", "/api/v1/orders/?page=999", {}, 404, "not_found"),
        ("GET", "/api/v1/orders/?page=abc", {}, 400, "invalid"),
        ("GET", "/api/v1/orders/?page=%2B1", {}, 400, "invalid"),
        ("GET", "/api/v1/orders/?page=last", {}, 400, "invalid"),
        ("OPTIONS", "/api/v1/orders/", {}, 405, "method_not_allowed"),
        ("GET", "/api/v1/orders/?page_size=0", {}, 400, "invalid"),
        ("GET", "/api/v1/orders/?page_size=101", {}, 400, "invalid"),
        (
            "GET",
            "/api/v1/live/",
            {"headers": {"Authorization": "Token not-a-token"}},
            401,
            "authentication_failed",
        ),
    ],
)
def test_bad_requests_get_a_4xx_in_the_one_error_body(
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    world: World,
    api_as: Callable[[User | None], APIClient],
) -> None:
    headers = {"Idempotency-Key": "errors-0001", **kwargs.pop("headers", {})}
    client = api_as(None if "Authorization" in headers else world.viewer)
    response = client.generic(method, path.format(session=world.session.pk), headers=headers, **kwargs)
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == code and body["message"]


def test_an_anonymous_call_is_a_401_with_a_token_challenge(client: Any) -> None:
    response = client.get("/api/v1/wallet/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_validation_errors_name_the_field(world: World, api_as: Callable[[User | None], APIClient]) -> None:
    response = api_as(world.viewer).post(
        f"/api/v1/merch/{world.item.pk}/orders/",
        {"quantity": 1, "shipping": {"name": 7}},
        format="json",
        headers={"Idempotency-Key": "errors-0002"},
    )
    body = response.json()
    assert response.status_code == 400 and body["code"] == "invalid"
    assert body["message"].startswith("shipping: ")
    assert set(body["extra"]["fields"]["shipping"]) >= {"name", "line1", "city", "postcode", "country"}
