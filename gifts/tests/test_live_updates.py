"""Live updates while Redis is down: broadcasting pauses (logged once) instead of piling up,
resumes by itself, and the live page has a line that says so."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from coinsite.channel_layer import RedisChannelLayer
from gifts import live_updates


class FlakyLayer:
    """A channel layer whose Redis is down until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.attempts = 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.attempts += 1
        await asyncio.sleep(0)
        if not self.up:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
        self.sent.append((group, message))


@pytest.fixture
def flaky(monkeypatch) -> FlakyLayer:
    layer = FlakyLayer()
    monkeypatch.setattr(live_updates, "get_channel_layer", lambda: layer)
    return layer


@pytest.fixture
def send_loop() -> Iterator[live_updates.SendLoop]:
    """A SendLoop of the test's own; its event loop thread is stopped afterwards."""
    loop = live_updates.SendLoop()
    yield loop
    if loop._loop is not None:
        loop._loop.call_soon_threadsafe(loop._loop.stop)
        assert loop._thread is not None
        loop._thread.join(5)


def send_and_settle(loop: live_updates.SendLoop, n: int) -> None:
    for i in range(n):
        loop.send(1, {"type": "gift", "n": i})
        assert loop.wait_idle(time.monotonic() + 5)


def test_while_redis_is_down_broadcasts_pause_and_the_failure_is_logged_once(flaky, send_loop, caplog):
    loop = send_loop
    with caplog.at_level(logging.WARNING, logger="gifts.live_updates"):
        send_and_settle(loop, 50)
    failing = [r for r in caplog.records if "failing" in r.getMessage()]
    assert len(failing) == 1, "one error per outage, not one per gift"
    assert flaky.attempts == 1, "sends during the pause are dropped, not tried"
    assert flaky.sent == []


def test_broadcasts_resume_when_redis_answers_and_the_loss_is_logged(flaky, send_loop, caplog, monkeypatch):
    monkeypatch.setattr(live_updates, "PAUSE_AFTER_FAILURE", 0.0)
    loop = send_loop
    with caplog.at_level(logging.WARNING, logger="gifts.live_updates"):
        send_and_settle(loop, 3)
        flaky.up = True
        send_and_settle(loop, 2)
    assert [m["payload"]["n"] for _, m in flaky.sent] == [0, 1]
    resumed = [r.getMessage() for r in caplog.records if "resumed" in r.getMessage()]
    assert len(resumed) == 1 and "3 were not delivered" in resumed[0]


def test_a_hung_redis_cannot_pile_up_more_than_max_pending_broadcasts(send_loop, monkeypatch, caplog):
    release = asyncio.Event()

    class HungLayer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            await release.wait()

    monkeypatch.setattr(live_updates, "get_channel_layer", lambda: HungLayer())
    monkeypatch.setattr(live_updates, "MAX_PENDING", 5)
    loop = send_loop
    with caplog.at_level(logging.ERROR, logger="gifts.live_updates"):
        for i in range(20):
            loop.send(1, {"n": i})
    assert loop._pending == 5 and loop._lost == 15
    assert sum("backed up" in r.getMessage() for r in caplog.records) == 1
    loop._running_loop().call_soon_threadsafe(release.set)
    assert loop.wait_idle(time.monotonic() + 5)


def test_the_channel_layer_fails_fast_and_retries_a_dead_pooled_connection_once():
    config = django_settings.CHANNEL_LAYERS["default"]["CONFIG"]
    host = config["hosts"][0]
    # Above the blocking receive's wait, or every idle receive would time out.
    assert RedisChannelLayer.brpop_timeout < host["socket_timeout"] <= 5
    layer = RedisChannelLayer(**config)
    retry = layer.hosts[0]["retry"]
    assert retry._retries == 1 and retry._supported_errors == (redis.ConnectionError,)


@pytest.mark.django_db
def test_the_live_page_has_a_hidden_line_for_paused_live_updates(client, live_session):
    page = client.get(f"/live/{live_session.pk}/").content.decode()
    assert "data-live-connection" in page
    line = page[page.index("data-live-connection") - 40 : page.index("data-live-connection") + 200]
    assert "hidden" in line and "reconnecting" in line


def test_group_send_many_delivers_each_message_to_its_groups_members_only():
    config = dict(django_settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config["prefix"] = f"{config['prefix']}-many-{time.monotonic_ns()}"

    async def scenario() -> None:
        layer = RedisChannelLayer(**config)
        try:
            a1, a2, b = await layer.new_channel(), await layer.new_channel(), await layer.new_channel()
            await layer.group_add("live-1", a1)
            await layer.group_add("live-1", a2)
            await layer.group_add("live-2", b)
            await layer.group_send_many(
                [
                    ("live-1", {"type": "live.event", "payload": {"n": 1}}),
                    ("live-2", {"type": "live.event", "payload": {"n": 2}}),
                    ("live-3", {"type": "live.event", "payload": {"n": 3}}),  # nobody watching
                ]
            )
            got = {name: await asyncio.wait_for(layer.receive(name), 2) for name in (a1, a2, b)}
            assert {name: m["payload"]["n"] for name, m in got.items()} == {a1: 1, a2: 1, b: 2}
            # Nothing else arrived: each channel got exactly its group's one message.
            for name in (a1, a2, b):
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(layer.receive(name), 0.3)
        finally:
            await layer.flush()

    # In a thread of its own: the session's Playwright browser keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=30)
