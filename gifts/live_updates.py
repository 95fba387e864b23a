"""What a live page's websocket receives, and the broadcasts that send it.

Events (JSON):
- `snapshot`: sent on connect: status, the recent feed and the session state.
- `gift`: one gift (sent after its commit), with the session state computed after it (goal
  progress, totals, top-gifter board), or `state: null` during a burst (see below).
- `state`: the session state alone, sent at the end of a burst.
- `ended`: the creator ended the session.

The state's `version` is the number of gifts it counts; gifts are only ever added, so pages
keep the highest version they saw (two broadcasts can arrive out of order).

Computing the state is one aggregate over the session's gifts (an index-only scan), so its
cost grows with the session. Per process and per session it is computed at most once per
`STATE_INTERVAL`: the first gift of a quiet period carries its state; gifts in the same
interval go out at once without it, and a background thread sends one `state` event when
the interval is over. A storm of gifts to one session costs a few aggregates a second,
not one per gift.

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
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.db import close_old_connections, connections, transaction

from gifts import selectors
from gifts.consumers import session_group
from gifts.models import Gift, GiftSend, LiveSession

logger = logging.getLogger(__name__)

STATE_INTERVAL = 0.25  # seconds; pages must see every gift within a second
PAUSE_AFTER_FAILURE = 1.0  # seconds without sending after a failed broadcast
MAX_PENDING = 500  # broadcasts in flight per process; a hung Redis must not pile up more


def gift_data(gift: Gift) -> dict[str, Any]:
    return {
        "id": gift.pk,
        "name": gift.name,
        "emoji": gift.emoji,
        "coins": gift.coins,
        "image": gift.image.url if gift.image else "",
    }


def gift_send_data(gift_send: GiftSend) -> dict[str, Any]:
    return {
        "id": gift_send.pk,
        "sender": gift_send.sender.public_name,
        "gift": gift_data(gift_send.gift),
        "count": gift_send.count,
        "coins": gift_send.coins,
        "created_at": gift_send.created_at.isoformat(),
    }


def state_data(state: selectors.SessionState) -> dict[str, Any]:
    goal = state.goal
    return {
        "version": state.version,
        "total_coins": state.total_coins,
        "goal": None
        if goal is None
        else {
            "gift": goal.gift_name,
            "emoji": goal.emoji,
            "target": goal.target,
            "progress": goal.progress,
            "percent": goal.percent,
        },
        "board": [{"name": g.name, "coins": g.coins} for g in state.board],
    }


def snapshot_event(session: LiveSession) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "status": session.status,
        "feed": [gift_send_data(g) for g in selectors.recent_gifts(session_id=session.pk)],
        "state": state_data(selectors.session_state(session=session)),
    }


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
        # The current outage, if any: since when, until when nothing is sent, what was lost.
        self._failing_since: float | None = None
        self._paused_until = 0.0
        self._lost = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # After a fork the thread is gone: start a new loop in the child.
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="gifts-live-send", daemon=True
                )
                self._thread.start()
            return self._loop

    def send(self, session_id: int, payload: dict[str, Any]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "live.event", "payload": payload}
        with self._lock:
            now = time.monotonic()
            backed_up = self._pending >= MAX_PENDING
            drop = backed_up or (self._failing_since is not None and now < self._paused_until)
            hung = drop and self._failing_since is None  # Redis hangs rather than fails
            if drop:
                self._lost += 1
                self._failing_since = self._failing_since or now
            else:
                self._pending += 1
        if hung:
            logger.error("live broadcasts backed up (%d in flight), dropping them", MAX_PENDING)
        if drop:
            return
        future = asyncio.run_coroutine_threadsafe(
            layer.group_send(session_group(session_id), message), self._running_loop()
        )
        future.add_done_callback(partial(self._sent, session_id))

    def _sent(self, session_id: int, future: concurrent.futures.Future[None]) -> None:
        error = None if future.cancelled() else future.exception()
        now = time.monotonic()
        started: float | None = None
        recovered_after: float | None = None
        lost = 0
        with self._lock:
            if error is not None:
                self._lost += 1
                self._paused_until = now + PAUSE_AFTER_FAILURE
                if self._failing_since is None:
                    self._failing_since = started = now
            elif self._failing_since is not None:
                recovered_after, lost = now - self._failing_since, self._lost
                self._failing_since, self._lost = None, 0
        # Logged once per outage, not once per gift: a Redis outage under load is thousands.
        if started is not None:
            logger.error(
                "live broadcasts failing, pausing them until Redis answers",
                exc_info=error,
                extra={"session_id": session_id},
            )
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


def _group_send(session_id: int, payload: dict[str, Any]) -> None:
    send_loop.send(session_id, payload)


class StatePublisher:
    """Coalesces session-state computations per session (see the module docstring)."""

    def __init__(self, interval: float = STATE_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Condition()
        self._last: dict[int, float] = {}  # session id -> when its state was last computed
        self._due: dict[int, tuple[float, LiveSession]] = {}  # trailing sends waiting
        self._busy = False
        self._thread: threading.Thread | None = None

    def claim_now(self, session: LiveSession) -> bool:
        """True: the caller computes the state now. False: a trailing `state` event is due."""
        now = time.monotonic()
        with self._lock:
            if (
                session.pk not in self._due
                and now - self._last.get(session.pk, -self.interval) >= self.interval
            ):
                self._last[session.pk] = now
                return True
            if session.pk not in self._due:
                self._due[session.pk] = (self._last[session.pk] + self.interval, session)
                self._start()
                self._lock.notify()
            return False

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """For tests: wait until no trailing state is due or being computed, and every
        broadcast has gone out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._due or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return send_loop.wait_idle(deadline)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="gifts-state-publisher", daemon=True)
            self._thread.start()

    def _next_due(self) -> LiveSession:
        with self._lock:
            while True:
                if self._due:
                    session_id, (due, session) = min(self._due.items(), key=lambda item: item[1][0])
                    wait = due - time.monotonic()
                    if wait <= 0:
                        del self._due[session_id]
                        self._last[session_id] = time.monotonic()
                        self._busy = True
                        return session
                    self._lock.wait(wait)
                else:
                    self._lock.notify_all()
                    self._lock.wait()

    def _run(self) -> None:
        while True:
            session = self._next_due()
            try:
                close_old_connections()
                _group_send(
                    session.pk,
                    {"type": "state", "state": state_data(selectors.session_state(session=session))},
                )
            except Exception:
                # A missed state is corrected by the next one (or a page's reconnect snapshot).
                logger.exception("live state broadcast failed", extra={"session_id": session.pk})
            finally:
                with self._lock:
                    self._busy = False
                    if not self._due:
                        # Idle: release this thread's database connection.
                        connections.close_all()
                    self._forget_old()
                    self._lock.notify_all()

    def _forget_old(self) -> None:
        if len(self._last) > 10_000:
            cutoff = time.monotonic() - self.interval
            self._last = {sid: at for sid, at in self._last.items() if at >= cutoff}


state_publisher = StatePublisher()


def broadcast_gift(gift_send: GiftSend) -> None:
    """Tell everyone watching the session about a committed gift (see the module docstring)."""
    session = gift_send.session
    if session is None:
        return
    state = None
    if state_publisher.claim_now(session):
        state = state_data(selectors.session_state(session=session))
    _group_send(session.pk, {"type": "gift", "gift_send": gift_send_data(gift_send), "state": state})


def broadcast_ended(session: LiveSession) -> None:
    ended_at = session.ended_at.isoformat() if session.ended_at else None
    _group_send(session.pk, {"type": "ended", "ended_at": ended_at})


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
