"""What a gift over the API costs: a token-authenticated gift (to a live session or on a post)
reads the token, its user, the gift and the target in one query and posts in one statement; a
replay of its Idempotency-Key answers from the posting statement's read; generous throttle
limits are counted in leases, not one shared-counter round trip per request."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from gifts.models import GiftSend
from tests.api.conftest import World, ledger_snapshot
from wallet.models import User

pytestmark = pytest.mark.django_db


def _statements(captured: CaptureQueriesContext) -> list[str]:
    # The test's own transaction puts a savepoint around the posting; a server has none.
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def _gift(client: APIClient, path: str, body: dict[str, Any] | str, key: str) -> tuple[Any, list[str]]:
    raw = body if isinstance(body, str) else json.dumps(body)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(path, raw, content_type="application/json", headers={"Idempotency-Key": key})
    return response, _statements(captured)


@pytest.mark.parametrize("target", ["session", "post"])
def test_a_token_gift_is_one_lookup_and_one_posting_and_a_replay_no_more(
    target: str, world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    client = api_as(world.viewer)
    path = (
        f"/api/v1/live/{world.session.pk}/gifts/"
        if target == "session"
        else f"/api/v1/posts/{world.post.pk}/gifts/"
    )
    body, key = {"gift": world.rose.pk, "count": 2}, str(uuid.uuid4())

    first, statements = _gift(client, path, body, key)
    assert first.status_code == 201, first.content
    assert len(statements) == 2, statements
    assert "authtoken_token" in statements[0] and "gifts_gift" in statements[0]
    assert "wallet_post_transaction" in statements[1]

    before = ledger_snapshot()
    replay, statements = _gift(client, path, body, key)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert len(statements) == 2, statements
    assert ledger_snapshot() == before and GiftSend.objects.filter(sender=world.viewer).count() == 1


def test_the_one_query_refuses_as_the_separate_lookups_did(
    world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    client = api_as(world.viewer)
    missing_session, _ = _gift(
        client, "/api/v1/live/999999999/gifts/", {"gift": world.rose.pk, "count": 1}, "k-1"
    )
    assert missing_session.status_code == 404 and missing_session.json()["code"] == "not_found"
    missing_gift, statements = _gift(
        client, f"/api/v1/live/{world.session.pk}/gifts/", {"gift": 999999999, "count": 1}, "k-2"
    )
    assert missing_gift.status_code == 400 and missing_gift.json()["extra"]["field"] == "gift"
    assert len(statements) == 1
    not_json, _ = _gift(client, f"/api/v1/live/{world.session.pk}/gifts/", "{", "k-3")
    assert not_json.status_code == 400 and not_json.json()["code"] == "parse_error"
    unknown = APIClient()
    unknown.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    refused, _ = _gift(
        unknown, f"/api/v1/live/{world.session.pk}/gifts/", {"gift": world.rose.pk, "count": 1}, "k-4"
    )
    assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
    world.viewer.is_active = False
    world.viewer.save(update_fields=["is_active"])
    inactive, _ = _gift(
        client, f"/api/v1/live/{world.session.pk}/gifts/", {"gift": world.rose.pk, "count": 1}, "k-5"
    )
    assert inactive.status_code == 401


def test_a_generous_limit_is_counted_in_leases_and_never_lets_more_through(
    settings: Any, world: World, api_as: Callable[[User | None], APIClient]
) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "gifts": "200/day"}
    settings.REST_FRAMEWORK = rest  # leases of 2
    counter = f"throttle_gifts_{world.viewer.pk}:{int(time.time() // 86400)}"
    cache.set(counter, 197, 600)  # other processes have let 197 through today
    client = api_as(world.viewer)
    path, body = f"/api/v1/live/{world.session.pk}/gifts/", {"gift": world.rose.pk, "count": 1}

    def gift() -> int:
        status: int = _gift(client, path, body, str(uuid.uuid4()))[0].status_code
        return status

    assert gift() == 201 and cache.get(counter) == 199  # a lease of 2 taken
    assert gift() == 201 and cache.get(counter) == 199  # spent locally
    assert gift() == 201 and cache.get(counter) == 201  # only 1 of the lease was left
    assert gift() == 429
    assert GiftSend.objects.filter(sender=world.viewer).count() == 3
