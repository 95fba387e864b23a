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
from gifts import consumers, live_events, live_updates, presence, selectors, services
from gifts import errors as texts
from gifts.models import ChatMessage, Gift, GiftSend, LiveSession

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

    async def receive_json_from(self, timeout: float = 1, *, presence: bool = False) -> Any:
        """The next event; viewer-count updates (a `room` event with nothing else) are skipped
        unless `presence`."""
        while True:
            response = await self.receive_output(timeout)
            assert response["type"] == "websocket.send", response
            event = json.loads(response["text"])
            if presence or not is_presence_only(event):
                return event

    async def send_json_to(self, data: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def is_presence_only(event: dict[str, Any]) -> bool:
    return (
        event["type"] == "room"
        and not event["chat"]
        and not event["deleted"]
        and not event["kept_out"]
        and event["likes"] is None
    )


async def only_presence(page: LiveSocket, timeout: float = 0.3) -> bool:
    """Nothing but viewer-count updates arrives within `timeout`."""
    while not await page.receive_nothing(timeout=timeout):
        if not is_presence_only(await page.receive_json_from(timeout=0.1, presence=True)):
            return False
    return True


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
    """Read events until a state counting `version` gifts arrives (in a `gifts` event, or in
    a `state` event after a burst); returns the gifts seen on the way and that state."""
    gifts = []
    while True:
        event = await page.receive_json_from(timeout=timeout)
        assert event["type"] in ("gifts", "state"), event
        if event["type"] == "gifts":
            assert event["skipped"] == 0, event
            gifts.extend(event["gift_sends"])
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
    assert live_updates.broadcaster.wait_idle(timeout=5)  # its broadcast went out before the page joined

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
                "gift": {
                    "id": doughnut.pk,
                    "name": "Doughnut",
                    "emoji": "🍩",
                    "coins": 30,
                    "image": "",
                    "tier": "small",
                },
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
            assert (await page.receive_json_from(timeout=5))["type"] == "ended"
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
def test_pages_cannot_send_gifts_over_the_socket(viewer: Any, live_session: LiveSession, rose: Gift) -> None:
    async def scenario() -> None:
        page = socket(live_session.pk)
        assert (await page.connect(timeout=5))[0]
        await page.receive_json_from(timeout=5)
        assert (await page.receive_json_from(timeout=2, presence=True))["viewers"] == 1
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
        # The state may be read after the last gift committed but before that gift's own
        # batch went out: the gifts still owed arrive next.
        while len(gifts) < len(sent):
            event = await page.receive_json_from(timeout=3)
            if event["type"] == "gifts":
                gifts.extend(event["gift_sends"])
        assert sorted(g["id"] for g in gifts) == sorted(g.pk for g in sent)
        assert state["goal"]["progress"] == sum(range(1, 13))
        assert {b["name"]: b["coins"] for b in state["board"]} == {
            f"Fan {v}": sum(i + 1 for i in range(12) if i % 3 == v) for v in range(3)
        }
        await page.disconnect()

    run_scenario(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_storm_of_gifts_goes_out_in_a_few_batches_with_states_at_most_once_per_interval(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    viewer = make_user()
    fund(viewer, 1000)
    gifts = [gift_to(viewer, rose, 1, session=live_session) for _ in range(5)]
    assert live_updates.broadcaster.wait_idle(timeout=5)  # the process-wide one is done with them
    events: list[tuple[float, dict[str, Any]]] = []
    monkeypatch.setattr(
        live_updates.send_loop,
        "send_many",
        lambda batch: events.extend((time.monotonic(), payload) for _, payload in batch),
    )
    broadcaster = live_updates.Broadcaster(state_interval=0.3, flush_interval=0.1)
    started = time.monotonic()
    for g in gifts * 40:  # 200 gifts queued over about 0.6 s
        broadcaster.gift(live_session, live_events.gift_send_data(g))
        time.sleep(0.003)
    assert broadcaster.wait_idle(timeout=5)
    gift_events = [p for _, p in events if p["type"] == "gifts"]
    state_events = [(at, p) for at, p in events if p["state"] is not None]
    # Every gift went out, in far fewer sends than gifts, none faster than the flush interval.
    assert sum(len(p["gift_sends"]) + p["skipped"] for p in gift_events) == 200
    assert 2 <= len(gift_events) <= (events[-1][0] - started) / 0.1 + 2
    # The first batch carries its state; later states come at most once per interval.
    assert gift_events[0]["state"] is not None and gift_events[0]["state"]["version"] == 5
    elapsed = events[-1][0] - started
    assert 2 <= len(state_events) <= elapsed / 0.3 + 2, (len(state_events), elapsed)
    # The burst ends with a state, so pages settle on the exact totals.
    assert events[-1][1]["state"] == gift_events[0]["state"]
    assert events[-1][1]["state"]["total_coins"] == 5


@pytest.mark.django_db(transaction=True)
def test_a_batch_keeps_the_newest_gifts_and_counts_the_rest(
    viewer: Any,
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = gift_to(viewer, rose, 1, session=live_session)
    assert live_updates.broadcaster.wait_idle(timeout=5)
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(live_updates.send_loop, "send_many", lambda batch: events.extend(p for _, p in batch))
    broadcaster = live_updates.Broadcaster(flush_interval=0.5)
    broadcaster.gift(live_session, {"id": 0})  # goes out at once and starts the flush interval
    time.sleep(0.05)
    queued = [dict(live_events.gift_send_data(sent), id=i) for i in range(1, 81)]
    for g in queued:
        broadcaster.gift(live_session, g)
    assert broadcaster.wait_idle(timeout=5)
    batches = [e for e in events if e["type"] == "gifts"]
    assert [len(b["gift_sends"]) for b in batches] == [1, live_events.MAX_GIFTS_PER_EVENT]
    assert batches[1]["skipped"] == 80 - live_events.MAX_GIFTS_PER_EVENT
    assert batches[1]["gift_sends"] == queued[-live_events.MAX_GIFTS_PER_EVENT :]


@pytest.mark.django_db(transaction=True)
def test_session_states_of_many_sessions_in_one_query_equal_each_session_alone(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    rose: Gift,
    doughnut: Gift,
    gift_to: Callable[..., GiftSend],
    make_creator: Callable[..., Creator],
    make_session: Callable[..., LiveSession],
    django_assert_num_queries: Any,
) -> None:
    other_creator = make_session(make_creator())
    fans = [make_user(display_name=f"Fan {i}") for i in range(8)]
    for i, fan in enumerate(fans):
        fund(fan, 1000)
        gift_to(fan, rose, i + 1, session=live_session)
        gift_to(fan, doughnut, 1, session=other_creator if i % 2 else live_session)
    quiet = make_session(make_creator(), goal_gift=None, goal_count=None)
    sessions = list(
        LiveSession.objects.select_related("goal_gift").filter(
            pk__in=[live_session.pk, other_creator.pk, quiet.pk]
        )
    )
    with django_assert_num_queries(1):
        states = selectors.session_states(sessions)
    alone = {s.pk: selectors.session_state(session=s) for s in sessions}
    assert states == alone
    assert states[live_session.pk].version == 8 + 4
    assert states[live_session.pk].total_coins == sum(range(1, 9)) + 4 * 30
    goal = states[live_session.pk].goal
    assert goal is not None and goal.progress == sum(range(1, 9))
    assert len(states[live_session.pk].board) == selectors.BOARD_SIZE
    assert (states[live_session.pk].board[0].name, states[live_session.pk].board[0].coins) == (
        "Fan 6",
        7 + 30,
    )
    assert states[other_creator.pk].version == 4 and states[other_creator.pk].total_coins == 120
    assert states[quiet.pk].version == 0 and states[quiet.pk].board == []


@pytest.mark.django_db(transaction=True)
def test_ten_thousand_like_taps_cost_a_handful_of_events_and_counter_writes(
    live_session: LiveSession,
) -> None:
    taps = 10_000
    tappers = taps // consumers.LIKE_BURST  # each taps its whole burst allowance

    async def scenario() -> None:
        pages = [socket(live_session.pk) for _ in range(tappers)]
        for p in pages:
            assert (await p.connect(timeout=5))[0]
        page = pages[0]
        assert (await page.receive_json_from(timeout=5))["likes"] == 0
        started = time.monotonic()
        for _ in range(consumers.LIKE_BURST // 10):  # a page sends its taps summed: ten per message here
            for p in pages:
                await p.send_json_to({"type": "like", "taps": 10})
        events: list[dict[str, Any]] = []
        while not events or events[-1]["likes"] != taps:
            event = await page.receive_json_from(timeout=3)
            assert event["type"] == "room", event
            events.append(event)
        elapsed = time.monotonic() - started
        # One event per batch: at most one per flush interval, never one per tap or per message.
        assert len(events) <= elapsed / live_updates.FLUSH_INTERVAL + 2, (len(events), elapsed)
        assert [e["likes"] for e in events] == sorted(e["likes"] for e in events)
        for p in pages:
            await p.disconnect()

    run_scenario(scenario)
    assert presence.like_count(live_session.pk) == taps


@pytest.mark.django_db(transaction=True)
def test_one_page_cannot_tap_more_than_its_burst_and_rate(live_session: LiveSession) -> None:
    async def scenario() -> None:
        page = socket(live_session.pk)
        assert (await page.connect(timeout=5))[0]
        await page.receive_json_from(timeout=5)
        started = time.monotonic()
        for _ in range(20):
            await page.send_json_to({"type": "like", "taps": 100})
        elapsed = time.monotonic() - started
        event = await page.receive_json_from(timeout=5)
        while await page.receive_nothing(timeout=0.3) is False:
            event = await page.receive_json_from(timeout=1)
        most = consumers.LIKE_BURST + elapsed * consumers.LIKES_PER_SECOND + 1
        assert consumers.LIKE_BURST <= event["likes"] <= most, (event, elapsed)
        await page.disconnect()

    run_scenario(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_visitor_who_is_not_signed_in_is_told_to_sign_in_to_chat(live_session: LiveSession) -> None:
    async def scenario() -> None:
        page, other = socket(live_session.pk), socket(live_session.pk)
        for p in (page, other):
            assert (await p.connect(timeout=5))[0]
            await p.receive_json_from(timeout=5)
        await page.send_json_to({"type": "chat", "text": "hi"})
        refused = await page.receive_json_from(timeout=5)
        assert refused == {
            "type": "chat_refused",
            "message": texts.SIGN_IN_TO_CHAT,
            "code": "sign_in",
            "extra": {"action": "chat"},
        }
        await page.send_json_to({"type": "delete", "message": "1"})
        assert (await page.receive_json_from(timeout=5))["message"] == texts.UNKNOWN_ROOM_ACTION
        assert await only_presence(other)  # a refusal goes to its page alone
        for p in (page, other):
            await p.disconnect()

    run_scenario(scenario)
    assert not ChatMessage.objects.exists()
