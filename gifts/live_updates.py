"""The broadcaster: sends the live events (`gifts.live_events`) to the pages watching a session.

Every page of a session joins its channel-layer group, `session_group(session_id)`.

Nothing of this runs in the request that sent the gift: after commit the request appends
the gift to its session's queue in memory and returns. One background thread per process
(`Broadcaster`) sends each session's queued gifts as one `gifts` event, at most every
`FLUSH_INTERVAL` (the first gift after a quiet spell goes out at once), so a storm of gifts
to one session costs about twenty channel-layer sends a second per process, not one per gift.
The state is one aggregate over the session's gifts (an index-only scan), computed for all
the sessions of a batch in one query and at most once per `STATE_INTERVAL` per session:
gifts that arrive sooner go out with `state: null` and a `state` event follows when the
interval is over. The events of a batch go to the channel layer together (`SendLoop`), from
an asyncio loop in another daemon thread.

The room goes through the same batches: chat messages, deletions, like taps and presence
changes are queued per session (`chat`, `chat_deleted`, `likes`, `presence_changed`) and go
out with the session's gifts as one event per session per batch (`live_events`: a `gifts`
event with a `room` key, or a `room` event). Taps are summed in memory and added to the
session's Redis counter once per batch (`gifts.presence`), so ten thousand taps a second cost
about twenty counter writes and twenty sends a second per process.

While Redis is down, broadcasting pauses: gifts still commit (they need only PostgreSQL),
the first failure is logged, sends are dropped for `PAUSE_AFTER_FAILURE` at a time (and
whenever `MAX_PENDING` are already in flight), and recovery is logged with the count
dropped. Pages lose their websocket in the same outage, show "reconnecting", and catch up
from the snapshot they get when they reconnect.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.db import close_old_connections, connections, transaction

from gifts import live_events, presence, selectors
from gifts.models import ChatMessage, GiftSend, LiveSession

logger = logging.getLogger(__name__)

STATE_INTERVAL = 0.25  # seconds; pages must see every gift within a second
FLUSH_INTERVAL = 0.05  # seconds between two batches of one process
MAX_CONCURRENT_SENDS = 16  # channel-layer sends in flight at once (each holds a Redis connection)
PAUSE_AFTER_FAILURE = 1.0  # seconds without sending after a failed broadcast
MAX_PENDING = 500  # broadcasts in flight per process; a hung Redis must not pile up more
MAX_REMEMBERED_STATES = 10_000  # sessions whose last state time is kept before old ones are dropped


def session_group(session_id: int) -> str:
    """The channel-layer group of the pages watching a live session."""
    return f"live-{session_id}"


class SendLoop:
    """A per-process asyncio loop in a daemon thread that sends to the channel layer.

    Sends are fire-and-forget: the request that committed a gift does not wait for Redis
    (async_to_sync from a worker thread would start an event loop and a Redis connection
    per call). A lost send is made good by the next state event or a page's reconnect.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._semaphore: asyncio.Semaphore | None = None  # created in the loop's thread
        # The current outage, if any: since when, until when nothing is sent, what was lost.
        self._failing_since: float | None = None
        self._paused_until = 0.0
        self._lost = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # After a fork the thread is gone: start a new loop in the child.
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                self._loop = asyncio.new_event_loop()
                self._semaphore = None
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="gifts-live-send", daemon=True
                )
                self._thread.start()
            return self._loop

    def send(self, session_id: int, payload: dict[str, Any]) -> None:
        self.send_many([(session_id, payload)])

    def send_many(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        """Send each (session id, event) to the session's pages; a batch is one Redis exchange
        when the layer has `group_send_many` (coinsite.channel_layer)."""
        layer = get_channel_layer()
        if layer is None or not events:
            return
        messages = [
            (session_group(session_id), {"type": "live.event", "payload": payload})
            for session_id, payload in events
        ]
        with self._lock:
            now = time.monotonic()
            backed_up = self._pending >= MAX_PENDING
            drop = backed_up or (self._failing_since is not None and now < self._paused_until)
            hung = drop and self._failing_since is None  # Redis hangs rather than fails
            if drop:
                self._lost += len(messages)
                self._failing_since = self._failing_since or now
            else:
                self._pending += 1
        if hung:
            logger.error("live broadcasts backed up (%d in flight), dropping them", MAX_PENDING)
        if drop:
            return
        future = asyncio.run_coroutine_threadsafe(self._deliver(layer, messages), self._running_loop())
        future.add_done_callback(partial(self._sent, len(messages)))

    async def _deliver(self, layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(MAX_CONCURRENT_SENDS)
        many = getattr(layer, "group_send_many", None)
        if many is not None:
            async with self._semaphore:
                await many(messages)
            return

        # Bounded: a batch for a thousand sessions at once ran into the Redis pool's limit.
        async def one(group: str, message: dict[str, Any]) -> None:
            assert self._semaphore is not None
            async with self._semaphore:
                await layer.group_send(group, message)

        await asyncio.gather(*(one(group, message) for group, message in messages))

    def _sent(self, count: int, future: concurrent.futures.Future[None]) -> None:
        error = None if future.cancelled() else future.exception()
        now = time.monotonic()
        started: float | None = None
        recovered_after: float | None = None
        lost = 0
        with self._lock:
            if error is not None:
                self._lost += count
                self._paused_until = now + PAUSE_AFTER_FAILURE
                if self._failing_since is None:
                    self._failing_since = started = now
            elif self._failing_since is not None:
                recovered_after, lost = now - self._failing_since, self._lost
                self._failing_since, self._lost = None, 0
        # Logged once per outage, not once per gift: a Redis outage under load is thousands.
        if started is not None:
            logger.error("live broadcasts failing, pausing them until Redis answers", exc_info=error)
        if recovered_after is not None:
            logger.warning(
                "live broadcasts resumed after %.1f s; %d were not delivered", recovered_after, lost
            )
        with self._lock:  # last: wait_idle() returns once this send is wholly done
            self._pending -= 1
            self._lock.notify_all()

    def wait_idle(self, deadline: float) -> bool:
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return True


send_loop = SendLoop()


@dataclass
class RoomBatch:
    """What happened in one session's room since the last batch."""

    chat: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    taps: int = 0
    presence_changed: bool = False
    kept_out: list[dict[str, Any]] = field(default_factory=list)


class Broadcaster:
    """Queues committed gifts per session and sends them in batches from a background thread
    (see the module docstring)."""

    def __init__(
        self, *, state_interval: float = STATE_INTERVAL, flush_interval: float = FLUSH_INTERVAL
    ) -> None:
        self.state_interval = state_interval
        self.flush_interval = flush_interval
        self._lock = threading.Condition()
        self._gifts: dict[int, list[dict[str, Any]]] = {}  # session id -> gifts waiting
        self._room: dict[int, RoomBatch] = {}  # session id -> room events waiting
        self._sessions: dict[int, LiveSession] = {}  # sessions with gifts waiting or a state due
        self._state_due: dict[int, float] = {}  # session id -> when its trailing state is due
        self._last_state: dict[int, float] = {}  # session id -> when its state was last computed
        self._last_flush = float("-inf")
        self._busy = False
        self._thread: threading.Thread | None = None

    def gift(self, session: LiveSession, gift_send: dict[str, Any]) -> None:
        """Queue one committed gift (`live_events.gift_send_data`) for the session's pages."""
        with self._lock:
            first = not self._gifts and not self._room
            self._gifts.setdefault(session.pk, []).append(gift_send)
            self._sessions[session.pk] = session
            self._wake(first)

    def _wake(self, first: bool) -> None:
        """Called with the lock held, after queueing."""
        # After a fork the thread is gone: start one in this process.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="gifts-live-broadcast", daemon=True)
            self._thread.start()
        # Only the first item of a batch wakes the thread: after that it is already due to
        # wake at the end of the flush interval (waking it for every gift of a storm cost
        # a thread switch per gift).
        if first:
            self._lock.notify_all()

    def _room_of(self, session_id: int) -> tuple[RoomBatch, bool]:
        """Called with the lock held: the session's waiting room batch, and whether it is the
        first item of the next batch."""
        first = not self._gifts and not self._room
        room = self._room.get(session_id)
        if room is None:
            room = self._room[session_id] = RoomBatch()
        return room, first

    def chat(self, session_id: int, message: dict[str, Any]) -> None:
        """Queue one committed chat message (`live_events.chat_message_data`)."""
        with self._lock:
            room, first = self._room_of(session_id)
            room.chat.append(message)
            self._wake(first)

    def chat_deleted(self, session_id: int, message_id: int) -> None:
        with self._lock:
            room, first = self._room_of(session_id)
            room.deleted.append(message_id)
            self._wake(first)

    def kept_out(self, session_id: int, *, user_id: int, message: str) -> None:
        """A user was timed out or banned: their pages of the session show `message`."""
        with self._lock:
            room, first = self._room_of(session_id)
            room.kept_out.append({"user": user_id, "message": message})
            self._wake(first)

    def likes(self, session_id: int, taps: int) -> None:
        """Count like taps; the batch adds them to the session's total in one Redis write."""
        with self._lock:
            room, first = self._room_of(session_id)
            room.taps += taps
            self._wake(first)

    def presence_changed(self, session_id: int) -> None:
        """A page joined or left: the batch sends the viewer count."""
        with self._lock:
            room, first = self._room_of(session_id)
            room.presence_changed = True
            self._wake(first)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """For tests and benchmarks: wait until nothing is queued, due or being sent."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._gifts or self._room or self._state_due or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return send_loop.wait_idle(deadline)

    def _next_batch(
        self,
    ) -> tuple[dict[int, list[dict[str, Any]]], dict[int, RoomBatch], dict[int, LiveSession]]:
        """Wait until a batch is due, then take it: every queued gift per session (the queue
        is emptied) and the sessions whose state goes out with this batch.

        A batch is due `flush_interval` after the last one when gifts are queued, or when a
        session's trailing state is due. The broadcaster is busy from here until `_run` has
        sent the batch.
        """
        with self._lock:
            now = self._wait_until_due()
            gifts = self._take_gifts(now)
            room, self._room = self._room, {}
            with_state = self._states_to_send(gifts, now)
            self._forget_settled_sessions(now)
            self._busy = True
            return gifts, room, with_state

    def _due_at(self) -> float:
        """When the next batch is due (infinity: nothing is queued or scheduled)."""
        due = float("inf")
        if self._gifts or self._room:
            due = self._last_flush + self.flush_interval
        if self._state_due:
            due = min(due, *self._state_due.values())
        return due

    def _wait_until_due(self) -> float:
        """Sleep (the lock released) until the next batch is due; return the time it is."""
        while True:
            now = time.monotonic()
            due = self._due_at()
            if due <= now:
                return now
            self._lock.notify_all()  # nothing to send yet: wake wait_idle()
            self._lock.wait(None if due == float("inf") else due - now)

    def _take_gifts(self, now: float) -> dict[int, list[dict[str, Any]]]:
        gifts, self._gifts = self._gifts, {}
        if gifts or self._room:
            self._last_flush = now
        return gifts

    def _states_to_send(self, gifts: dict[int, list[dict[str, Any]]], now: float) -> dict[int, LiveSession]:
        """The sessions whose state is computed for this batch: those with gifts whose state is
        at least `state_interval` old, and those whose trailing state is due. A session with
        gifts and a fresher state gets a trailing state, due when the interval is over."""
        with_state: dict[int, LiveSession] = {}
        for session_id in gifts:
            if session_id in self._state_due:
                continue  # its trailing state, already scheduled, will count these gifts too
            last = self._last_state.get(session_id)
            if last is None or now - last >= self.state_interval:
                with_state[session_id] = self._sessions[session_id]
            else:
                self._state_due[session_id] = last + self.state_interval
        for session_id, due in list(self._state_due.items()):
            if due <= now:
                del self._state_due[session_id]
                with_state[session_id] = self._sessions[session_id]
        for session_id in with_state:
            self._last_state[session_id] = now
        return with_state

    def _forget_settled_sessions(self, now: float) -> None:
        """Keep only the sessions a trailing state is still due for; when the times of the last
        states pile up, forget those older than `state_interval` (they no longer hold a state
        back, so forgetting them changes nothing)."""
        for session_id in list(self._sessions):
            if session_id not in self._state_due:
                del self._sessions[session_id]
        if len(self._last_state) > MAX_REMEMBERED_STATES:
            self._last_state = {
                sid: at for sid, at in self._last_state.items() if now - at < self.state_interval
            }

    def _run(self) -> None:
        while True:
            gifts, room, with_state = self._next_batch()
            try:
                self._send(gifts, room, with_state)
            except Exception:
                # A lost batch is made good by the next state (or a page's reconnect snapshot).
                logger.exception("live broadcast failed")
            finally:
                with self._lock:
                    self._busy = False
                    if not self._gifts and not self._room and not self._state_due:
                        connections.close_all()  # idle: release this thread's connection
                    self._lock.notify_all()

    def _send(
        self,
        gifts: dict[int, list[dict[str, Any]]],
        room: dict[int, RoomBatch],
        with_state: dict[int, LiveSession],
    ) -> None:
        states: dict[int, selectors.SessionState] = {}
        if with_state:
            try:
                close_old_connections()
                states = selectors.session_states(list(with_state.values()))
            except Exception:
                # The gifts still go out; the session's next state (or a page's reconnect
                # snapshot) counts them.
                logger.exception("live state query failed", extra={"sessions": list(with_state)})
        rooms = {session_id: self._room_data(session_id, batch) for session_id, batch in room.items()}
        events = []
        for session_id, sends in gifts.items():
            event = live_events.gifts_event(sends, states.pop(session_id, None))
            if session_id in rooms:
                event["room"] = rooms.pop(session_id)
            events.append((session_id, event))
        events += [(session_id, live_events.room_event(data)) for session_id, data in rooms.items()]
        events += [(session_id, live_events.state_event(state)) for session_id, state in states.items()]
        send_loop.send_many(events)

    @staticmethod
    def _room_data(session_id: int, batch: RoomBatch) -> dict[str, Any]:
        return live_events.room_data(
            chat=batch.chat,
            deleted=batch.deleted,
            kept_out=batch.kept_out,
            likes=presence.add_likes(session_id, batch.taps) if batch.taps else None,
            viewers=presence.viewer_count(session_id) if batch.presence_changed else None,
        )


broadcaster = Broadcaster()


def broadcast_gift(gift_send: GiftSend) -> None:
    """Tell everyone watching the session about a committed gift (see the module docstring)."""
    if gift_send.session is not None:
        broadcaster.gift(gift_send.session, live_events.gift_send_data(gift_send))


def broadcast_ended(session: LiveSession) -> None:
    send_loop.send(session.pk, live_events.ended_event(session))


# Run at commit, or at once when there is no atomic block (the write has committed). robust:
# the write is committed by then, so a failed broadcast is logged, never a 500. Named
# functions, not partials: Django's robust on_commit logs the callback's __qualname__.


def broadcast_gift_on_commit(gift_send: GiftSend) -> None:
    def broadcast_committed_gift() -> None:
        broadcast_gift(gift_send)

    transaction.on_commit(broadcast_committed_gift, robust=True)


def broadcast_ended_on_commit(session: LiveSession) -> None:
    def broadcast_committed_end() -> None:
        broadcast_ended(session)

    transaction.on_commit(broadcast_committed_end, robust=True)


def broadcast_chat_on_commit(message: ChatMessage) -> None:
    data = live_events.chat_message_data(message)

    def broadcast_committed_chat() -> None:
        broadcaster.chat(message.session_id, data)

    transaction.on_commit(broadcast_committed_chat, robust=True)


def broadcast_chat_deleted_on_commit(message: ChatMessage) -> None:
    def broadcast_committed_deletion() -> None:
        broadcaster.chat_deleted(message.session_id, message.pk)

    transaction.on_commit(broadcast_committed_deletion, robust=True)


def broadcast_kept_out_on_commit(session_id: int, *, user_id: int, message: str) -> None:
    def broadcast_committed_ban() -> None:
        broadcaster.kept_out(session_id, user_id=user_id, message=message)

    transaction.on_commit(broadcast_committed_ban, robust=True)
