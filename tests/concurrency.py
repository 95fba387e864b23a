"""N callers at once, for the tests and drills that race requests against each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_concurrently(n: int, fn: Callable[[int], T], *, timeout: float | None = 120) -> list[T | Exception]:
    """Call `fn(0)` ... `fn(n - 1)`, each in its own thread, released together by a barrier.

    Returns, in call order, what each call returned or the exception it raised (the caller
    inspects both). Each thread closes its database connections when its call is done. Fails
    if the threads do not all reach the barrier, or are not all done, within `timeout` seconds
    (None: no limit)."""
    from django.db import connections

    barrier = threading.Barrier(n)
    results: list[T | Exception] = [RuntimeError("the call did not finish")] * n

    def call(i: int) -> None:
        try:
            barrier.wait(timeout)
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(i,), name=f"concurrent-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    still_running = [thread.name for thread in threads if thread.is_alive()]
    assert not still_running, f"still running after {timeout}s: {still_running}"
    return results
