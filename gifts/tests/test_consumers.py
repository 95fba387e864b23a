"""The live page's websocket against the real Redis channel layer and the real ASGI app.

`channels.testing` imports daphne (for its live-server test case), which this project does
not install (uvicorn serves ASGI); `LiveSocket` is the few lines of its WebsocketCommunicator
we need, on the same asgiref ApplicationCommunicator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.db import connections

from coinsite.asgi import application
from creators.models import Creator
from gifts import live_updates, services
from gifts.models import Gift, GiftSend, LiveSession

ORIGIN = [(b"origin", b"http://127.0.0.1")]


class LiveSocket(ApplicationCommunicator):
    def __init__(self, path: str) -> None:
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": ORIGIN,
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, None

    async def receive_json_from(self, timeout: float = 1) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def send_json_to(self, data: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def run_scenario(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an async scenario in its own thread: the session-wide Playwright browser keeps an
    event loop in the main thread, where async_to_sync refuses to run."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: _run_and_close(scenario)).result(timeout=60)


def _run_and_close(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        async_to_sync(scenario)()
    finally:
        connections.close_all()


def socket(session_id: int) -> LiveSocket:
    return LiveSocket(f"/ws/live/{session_id}/")


async def until_state(page: LiveSocket, *, version: int, timeout: float = 2) -> tuple[list[Any], Any]:
    """Read events until a state counting `version` gifts arrives (in a `gift` event, or in the
    `state` event that ends a burst); returns the gifts seen on the way and that state."""
    gifts = []
    while True:
        event = await page.receive_json_from(timeout=timeout)
        assert event["type"] in ("gift", "state"), event
        if event["type"] == "gift":
            gifts.append(event["gift_send"])
        if event["state"] is not None and event["state"]["version"] >= version:
            return gifts, event["state"]


@pytest.mark.django_db(transaction=True)
def test_a_live_page_gets_a_snapshot_then_every_gift_with_goal_and_board_then_the_end(
    viewer: Any,
    creator: Creator,
    live_session: LiveSession,
    rose: Gift,
    doughnut: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    before = gift_to(viewer, rose, 2, session=live_session)

    async def scenario() -> None:
        early = socket(live_session.pk)
        connected, _ = await early.connect(timeout=5)
        assert connected
        snapshot = await early.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot" and snapshot["status"] == "live"
        assert [g["id"] for g in snapshot["feed"]] == [before.pk]
        assert snapshot["state"]["goal"] == {
            "gift": "Rose",
            "emoji": "🌹",
            "target": 1000,
            "progress": 2,
            "percent": 0,
        }

        sent = await sync_to_async(gift_to)(viewer, doughnut, 3, session=live_session)
        gifts, state = await until_state(early, version=2)
        assert gifts == [
            {
                "id": sent.pk,
                "sender": "Viewer One",
                "gift": {"id": doughnut.pk, "name": "Doughnut", "emoji": "🍩", "coins": 30, "image": ""},
                "count": 3,
                "coins": 90,
                "created_at": sent.created_at.isoformat(),
            }
        ]
        assert state["total_coins"] == 92
        assert state["board"] == [{"name": "Viewer One", "coins": 92}]
        assert state["goal"]["progress"] == 2

        late = socket(live_session.pk)
        assert (await late.connect(timeout=5))[0]
        late_snapshot = await late.receive_json_from(timeout=5)
        assert [g["id"] for g in late_snapshot["feed"]] == [sent.pk, before.pk]
        assert late_snapshot["state"] == state

        await sync_to_async(services.end_live_session)(session=live_session, ended_by=creator.user)
        for page in (early, late):
            assert (await page.receive_json_from(timeout=2))["type"] == "ended"
        await early.disconnect()
        await late.disconnect()

    run_scenario(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_socket_for_an_unknown_session_is_refused(db: None) -> None:
    async def scenario() -> None:
        connected, code = await socket(987654).connect(timeout=5)
        assert (connected, code) == (False, 4404)

    run_scenario(scenario)


@pytest.mark.django_db(transaction=True)
def test_pages_only_listen(viewer: Any, live_session: LiveSession, rose: Gift) -> None:
    async def scenario() -> None:
        page = socket(live_session.pk)
        assert (await page.connect(timeout=5))[0]
        await page.receive_json_from(timeout=5)
        await page.send_json_to({"type": "gift", "gift": rose.pk, "count": 1000})
        assert await page.receive_nothing(timeout=0.3)
        await page.disconnect()

    run_scenario(scenario)
    assert not GiftSend.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_gifts_reaches_pages_one_by_one_and_ends_with_the_exact_state(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    viewers = [make_user(display_name=f"Fan {i}") for i in range(3)]
    for viewer in viewers:
        fund(viewer, 100)

    def burst() -> list[GiftSend]:
        return [gift_to(viewers[i % 3], rose, i + 1, session=live_session) for i in range(12)]

    async def scenario() -> None:
        page = socket(live_session.pk)
        assert (await page.connect(timeout=5))[0]
        await page.receive_json_from(timeout=5)
        sent = await sync_to_async(burst)()
        gifts, state = await until_state(page, version=12, timeout=3)
        assert sorted(g["id"] for g in gifts) == sorted(g.pk for g in sent)
        assert state["goal"]["progress"] == sum(range(1, 13))
        assert {b["name"]: b["coins"] for b in state["board"]} == {
            f"Fan {v}": sum(i + 1 for i in range(12) if i % 3 == v) for v in range(3)
        }
        await page.disconnect()

    run_scenario(scenario)


@pytest.mark.django_db(transaction=True)
def test_the_state_is_computed_at_most_once_per_interval_per_session(live_session: LiveSession) -> None:
    publisher = live_updates.StatePublisher(interval=0.2)
    assert publisher.claim_now(live_session)
    assert [publisher.claim_now(live_session) for _ in range(20)] == [False] * 20
    assert publisher.wait_idle(timeout=5)  # one trailing state went out
    time.sleep(0.21)
    assert publisher.claim_now(live_session)
