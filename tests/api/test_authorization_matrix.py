"""Who may do what: every API endpoint and the key HTML pages, for each role (anonymous, an
adult viewer, an under-18 viewer, the owning creator, another creator, staff). The world's
objects (purchase, order, post, merch, live session) belong to the viewer and the owner.

Policy: reading the catalogue, live sessions, posts and merch is open; spending and buying
need an adult (under-18 reads but never spends); a viewer's purchases and orders are theirs
alone (someone else's id is a 404, staff included: staff work in admin); the studio is for
approved creators, and an order of one creator's merch is a 404 to another creator. Staff with
the cancel or ship permission may cancel or ship anyone's order, and without a reason are a 400."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api.conftest import ROLES, SHIPPING, World, card_for
from wallet.models import User

pytestmark = [pytest.mark.django_db]

ANON, VIEWER, MINOR, OWNER, OTHER, STAFF = ROLES
LOGIN = 302  # login_required sends to the log-in page; the studio sends non-creators to "apply"


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, anonymous: int = 401, **overrides: int) -> dict[str, int]:
    return {**everyone(status), ANON: anonymous, **overrides}


def _ids(items: list[dict[str, Any]]) -> set[int]:
    return {item["id"] for item in items}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    template: str  # with {id} or {handle} of `target`
    expected: dict[str, int]
    target: Callable[[World], Any] | None = None
    body: Callable[[World], Any] | None = None
    # A check of a successful answer's content: (role, world, JSON or page text) -> bool.
    check: Callable[[str, World, Any], bool] | None = None
    needs_stripe: bool = False
    html: bool = False

    def path(self, world: World) -> str:
        if self.target is None:
            return self.template
        obj = self.target(world)
        return self.template.replace("{id}", str(obj.pk)).replace("{handle}", getattr(obj, "handle", ""))


API = [
    Case("wallet", "GET", "/api/v1/wallet/", signed_in(200)),
    Case(
        "wallet history",
        "GET",
        "/api/v1/wallet/history/",
        signed_in(200),
        check=lambda role, w, body: len(body["results"]) >= 1,
    ),
    Case("coin packages", "GET", "/api/v1/coins/packages/", everyone(200)),
    Case(
        "my purchases",
        "GET",
        "/api/v1/coins/purchases/",
        signed_in(200),
        check=lambda role, w, body: (w.purchase.pk in _ids(body["results"])) == (role == VIEWER),
    ),
    Case(
        "start a purchase",
        "POST",
        "/api/v1/coins/purchases/",
        signed_in(201, **{MINOR: 403}),
        body=lambda w: {"package": w.package.pk},
        needs_stripe=True,
    ),
    Case(
        "a receipt",
        "GET",
        "/api/v1/coins/purchases/{id}/",
        signed_in(404, **{VIEWER: 200}),
        target=lambda w: w.purchase,
    ),
    Case(
        "confirm a purchase",
        "POST",
        "/api/v1/coins/purchases/{id}/confirm/",
        signed_in(404, **{VIEWER: 200, MINOR: 403}),
        target=lambda w: w.purchase,
        body=lambda w: {"payment_method": card_for(w.purchase)},
        needs_stripe=True,
        check=lambda role, w, body: body["status"] == "paid",
    ),
    Case("gift catalogue", "GET", "/api/v1/gifts/", everyone(200)),
    Case("live sessions", "GET", "/api/v1/live/", everyone(200)),
    Case("a live session", "GET", "/api/v1/live/{id}/", everyone(200), target=lambda w: w.session),
    Case(
        "gift a live session",
        "POST",
        "/api/v1/live/{id}/gifts/",
        signed_in(201, **{MINOR: 403, OWNER: 403}),
        target=lambda w: w.session,
        body=lambda w: {"gift": w.rose.pk, "count": 2},
    ),
    Case(
        "gift a post",
        "POST",
        "/api/v1/posts/{id}/gifts/",
        signed_in(201, **{MINOR: 403, OWNER: 403}),
        target=lambda w: w.post,
        body=lambda w: {"gift": w.rose.pk, "count": 1},
    ),
    Case("a creator", "GET", "/api/v1/creators/{handle}/", everyone(200), target=lambda w: w.creator),
    Case(
        "a premium post",
        "GET",
        "/api/v1/posts/{id}/",
        everyone(200),
        target=lambda w: w.post,
        check=lambda role, w, body: (
            body["unlocked"] == (role in (OWNER, STAFF))
            and (body["premium_body"] is not None) == (role in (OWNER, STAFF))
        ),
    ),
    Case(
        "unlock a post",
        "POST",
        "/api/v1/posts/{id}/unlock/",
        signed_in(201, **{MINOR: 403, OWNER: 400}),
        target=lambda w: w.post,
    ),
    Case("a merch item", "GET", "/api/v1/merch/{id}/", everyone(200), target=lambda w: w.item),
    Case(
        "order merch",
        "POST",
        "/api/v1/merch/{id}/orders/",
        signed_in(201, **{MINOR: 403, OWNER: 400}),
        target=lambda w: w.item,
        body=lambda w: {"quantity": 1, "shipping": SHIPPING},
    ),
    Case(
        "my orders",
        "GET",
        "/api/v1/orders/",
        signed_in(200),
        check=lambda role, w, body: (w.order.pk in _ids(body["results"])) == (role == VIEWER),
    ),
    Case(
        "an order", "GET", "/api/v1/orders/{id}/", signed_in(404, **{VIEWER: 200}), target=lambda w: w.order
    ),
    Case(
        "cancel an order",
        "POST",
        "/api/v1/orders/{id}/cancel/",
        signed_in(404, **{VIEWER: 200, STAFF: 400}),
        target=lambda w: w.order,
    ),
    Case(
        "studio orders",
        "GET",
        "/api/v1/studio/orders/",
        signed_in(403, **{OWNER: 200, OTHER: 200}),
        check=lambda role, w, body: (w.order.pk in _ids(body["results"])) == (role == OWNER),
    ),
    Case(
        "ship an order",
        "POST",
        "/api/v1/studio/orders/{id}/ship/",
        signed_in(403, **{OWNER: 200, OTHER: 404, STAFF: 400}),
        target=lambda w: w.order,
    ),
    Case("studio earnings", "GET", "/api/v1/studio/earnings/", signed_in(403, **{OWNER: 200, OTHER: 200})),
    Case("studio payouts", "GET", "/api/v1/studio/payouts/", signed_in(403, **{OWNER: 200, OTHER: 200})),
    Case(
        "report a post",
        "POST",
        "/api/v1/reports/",
        signed_in(201, **{OWNER: 400}),  # nobody reports their own content
        body=lambda w: {"target_type": "post", "target_id": w.post.pk, "reason": "spam"},
    ),
    Case("my tokens", "GET", "/api/v1/auth/token/", signed_in(200)),
    Case("revoke my token", "DELETE", "/api/v1/auth/token/", signed_in(204)),
]

PAGES = [
    Case("home", "GET", "/", everyone(200), html=True),
    Case("profile", "GET", "/me/", signed_in(200, anonymous=LOGIN), html=True),
    Case("my API tokens", "GET", "/me/tokens/", signed_in(200, anonymous=LOGIN), html=True),
    Case("get coins", "GET", "/coins/", signed_in(200, anonymous=LOGIN), html=True),
    Case("purchase history", "GET", "/coins/purchases/", signed_in(200, anonymous=LOGIN), html=True),
    Case(
        "a receipt page",
        "GET",
        "/coins/purchases/{id}/",
        signed_in(404, anonymous=LOGIN, **{VIEWER: 200}),
        target=lambda w: w.purchase,
        html=True,
    ),
    Case("live list", "GET", "/live/", everyone(200), html=True),
    Case("a live page", "GET", "/live/{id}/", everyone(200), target=lambda w: w.session, html=True),
    Case("a creator page", "GET", "/c/{handle}/", everyone(200), target=lambda w: w.creator, html=True),
    Case(
        "a post page",
        "GET",
        "/posts/{id}/",
        everyone(200),
        target=lambda w: w.post,
        html=True,
        check=lambda role, w, text: ("The whole story." in text) == (role in (OWNER, STAFF)),
    ),
    Case("a merch page", "GET", "/merch/{id}/", everyone(200), target=lambda w: w.item, html=True),
    Case("studio", "GET", "/studio/", signed_in(302, anonymous=LOGIN, **{OWNER: 200, OTHER: 200}), html=True),
    Case(
        "studio statement",
        "GET",
        "/studio/statement.csv",
        signed_in(302, anonymous=LOGIN, **{OWNER: 200, OTHER: 200}),
        html=True,
    ),
    Case(
        "studio orders page",
        "GET",
        "/studio/orders/",
        signed_in(302, anonymous=LOGIN, **{OWNER: 200, OTHER: 200}),
        html=True,
    ),
    Case(
        "studio payouts page",
        "GET",
        "/studio/payouts/",
        signed_in(302, anonymous=LOGIN, **{OWNER: 200, OTHER: 200}),
        html=True,
    ),
    Case("admin", "GET", "/admin/", signed_in(302, anonymous=LOGIN, **{STAFF: 200}), html=True),
    Case("API docs", "GET", "/api/docs/", everyone(200), html=True),
    Case("API schema", "GET", "/api/schema/", everyone(200), html=True),
]


def _client(role: str, world: World, case: Case, api_as: Callable[[User | None], APIClient]) -> Any:
    user = world.user(role)
    if not case.html:
        return api_as(user)
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", API + PAGES, ids=lambda case: case.name)
def test_each_role_gets_what_the_policy_allows(
    case: Case, role: str, world: World, api_as: Callable[[User | None], APIClient], request: Any
) -> None:
    if case.needs_stripe:
        request.getfixturevalue("stripe_settings")
    client = _client(role, world, case, api_as)
    path = case.path(world)
    headers = {"Idempotency-Key": str(uuid.uuid4())} if case.method == "POST" else {}
    body = "" if case.body is None else json.dumps(case.body(world))
    response = client.generic(case.method, path, body, content_type="application/json", headers=headers)
    assert response.status_code == case.expected[role], (role, path, response.content[:300])
    if not case.html and response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "extra"}
    if case.check is not None and response.status_code < 300:
        content = response.content.decode() if case.html else response.json()
        assert case.check(role, world, content), (role, path, content)


def test_every_api_operation_is_in_the_matrix(client: Any) -> None:
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, ops in schema["paths"].items()
        for method in ops
    }
    covered = {(case.method, case.template.removeprefix("/api/v1")) for case in API}
    # Obtaining a token is not a role question (it has its own tests).
    assert documented - covered == {("POST", "/auth/token/")}
