"""The creator earnings dashboard (/studio/) of a creator with 1,000,000 diamond entries,
through the whole Django stack (test client: middleware, session login, template), median
of several requests after a warm-up. Baseline: the same page for a creator with 1,000."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.harness import HTTPS_HEADERS, Row

SMALL = 1_000


def page_times(user: Any, requests: int) -> list[float]:
    from django.test import Client

    client = Client(headers=HTTPS_HEADERS)
    client.force_login(user)
    for _ in range(2):  # warm-up: caches, plans, the template loader
        response = client.get("/studio/")
        assert response.status_code == 200, response.status_code
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get("/studio/")
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return times


def run(quick: bool) -> list[Row]:
    from bench.creators_data import make_creator_with_entries

    big_n = 100_000 if quick else 1_000_000
    requests = 5 if quick else 9
    t0 = time.perf_counter()
    big = make_creator_with_entries(big_n)
    load = time.perf_counter() - t0
    small = make_creator_with_entries(SMALL)
    # Interleaved, so load from elsewhere on the machine falls on both alike.
    big_times: list[float] = []
    small_times: list[float] = []
    for _ in range(2):
        small_times += page_times(small.user, requests // 2 + 1)
        big_times += page_times(big.user, requests // 2 + 1)
    big_ms = statistics.median(big_times) * 1000
    small_ms = statistics.median(small_times) * 1000
    return [
        Row(
            f"/studio/ with {big_n:,} ledger entries",
            big_ms,
            "ms",
            f"/studio/ with {SMALL:,} entries",
            small_ms,
            note=f"median of {len(big_times)}; max {max(big_times) * 1000:.0f} ms vs "
            f"{max(small_times) * 1000:.0f} ms; data loaded in {load:.0f} s",
        ),
    ]
