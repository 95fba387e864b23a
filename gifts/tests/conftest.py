"""Fixtures for gift tests: the seeded catalogue, approved creators, live sessions, posts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings

from creators.models import Creator, Post
from gifts import live_updates, services
from gifts.catalogue import GIFT_CATALOGUE
from gifts.models import Gift, GiftSend, LiveSession


@pytest.fixture
def catalogue(db: None) -> dict[str, Gift]:
    return {
        name: Gift.objects.create(name=name, coins=coins, emoji=emoji, sort_order=order)
        for order, (name, coins, emoji) in enumerate(GIFT_CATALOGUE)
    }


@pytest.fixture
def rose(catalogue: dict[str, Gift]) -> Gift:
    return catalogue["Rose"]


@pytest.fixture
def doughnut(catalogue: dict[str, Gift]) -> Gift:
    return catalogue["Doughnut"]


@pytest.fixture
def creator(make_creator: Callable[..., Creator]) -> Creator:
    return make_creator()


@pytest.fixture
def make_session(rose: Gift) -> Callable[..., LiveSession]:
    def make(creator: Creator, **extra: Any) -> LiveSession:
        fields: dict[str, Any] = {"title": "Late-night ramen", "goal_gift": rose, "goal_count": 1000}
        fields.update(extra)
        return LiveSession.objects.create(creator=creator, **fields)

    return make


@pytest.fixture
def live_session(
    creator: Creator, make_session: Callable[..., LiveSession], _fresh_room_counters: None
) -> LiveSession:
    return make_session(creator)


@pytest.fixture
def _fresh_room_counters() -> None:
    """Each test database numbers its sessions from 1 again: forget the viewers and likes that
    earlier runs counted in Redis under the same session ids (`gifts.presence`)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "coinsite")
    keys = list(client.scan_iter(match=f"{prefix}:live:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def post(creator: Creator) -> Post:
    return Post.objects.create(creator=creator, title="My ramen recipe", teaser="Broth first.")


@pytest.fixture
def viewer(make_user: Callable[..., Any], fund: Callable[..., Any]) -> Any:
    user = make_user(display_name="Viewer One")
    fund(user, 10_000)
    return user


@pytest.fixture
def gift_to() -> Callable[..., GiftSend]:
    """send_gift with a fresh key unless one is given."""

    def send(sender: Any, gift: Gift, count: int = 1, *, key: str | None = None, **target: Any) -> GiftSend:
        return services.send_gift(
            sender=sender, gift=gift, count=count, idempotency_key=key or str(uuid.uuid4()), **target
        )

    return send


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # Before any fixture is torn down (the database flush included): let the live
    # broadcaster's thread finish reading the database after the test's last gifts.
    assert live_updates.broadcaster.wait_idle(timeout=10), "live broadcasts did not settle"
