"""The real ASGI app served by uvicorn against the benchmark database, and an asyncio client
that drives it with many concurrent keep-alive connections."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import HTTPS_HEADERS, Run
from tools.asgi_server import AsgiServer

# As the Procfile runs it; on this 2-core machine 1, 2 and 4 workers measured within noise.
SERVER_WORKERS = 2


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class HttpRun(Run):
    statuses: dict[int, int] = field(default_factory=dict)
    sample_error: str = ""

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000

    def latency_note(self) -> str:
        note = f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"
        if self.errors:
            note += f"; {self.errors} errors {dict(sorted(self.statuses.items()))} {self.sample_error[:80]}"
        return note


@contextmanager
def asgi_server(
    *, workers: int = SERVER_WORKERS, env: dict[str, str] | None = None, wsgi_threads: int | None = None
) -> Iterator[AsgiServer]:
    """uvicorn serving coinsite.asgi against the benchmark database (DATABASE_URL as set by
    prepare_database), production-like: DEBUG off, warnings only, connection pool as in the
    Procfile. `wsgi_threads`: gunicorn's gthread workers serving coinsite.wsgi instead (plain
    HTTP only)."""
    from tools.asgi_server import asgi_server as start_server

    child_env = {
        "DB_POOL_SIZE": os.environ.get("DB_POOL_SIZE", "20"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        # The production-like hosts prepare_database set (the server helper defaults to loopback only).
        "DJANGO_ALLOWED_HOSTS": os.environ["DJANGO_ALLOWED_HOSTS"],
        **(env or {}),
    }
    with tempfile.TemporaryDirectory(prefix="bench-uvicorn-") as tmp:
        with start_server(
            env=child_env, workers=workers, log=Path(tmp) / "server.log", fast=True, wsgi_threads=wsgi_threads
        ) as server:
            yield server


def drive(
    base_url: str,
    *,
    clients: int,
    per_client: int,
    request: Callable[[int, int], Request],
    expect: int,
) -> HttpRun:
    """`clients` concurrent clients, each on its own keep-alive connection, send
    `request(client, i)` for i in range(per_client), one after another; all start together
    after one untimed warm-up request each (connections open, workers warm)."""
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_drive(base_url, clients, per_client, request, expect))


async def _drive(
    base_url: str, clients: int, per_client: int, request: Callable[[int, int], Request], expect: int
) -> HttpRun:
    import aiohttp

    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: dict[int, int] = {}
    errors = [0] * clients
    sample: list[str] = []
    go = asyncio.Event()
    ready = 0
    all_ready = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=120)

    async def send(session: aiohttp.ClientSession, req: Request) -> tuple[int, str]:
        async with session.request(
            req.method, base_url + req.path, headers=req.headers, data=req.body
        ) as response:
            body = await response.read()
            return response.status, body[:200].decode(errors="replace")

    async def client(c: int, session: aiohttp.ClientSession) -> None:
        nonlocal ready
        try:
            await send(session, Request("GET", "/healthz"))
        finally:
            ready += 1
        if ready == clients:
            all_ready.set()
        await go.wait()
        lane = latencies[c]
        for i in range(per_client):
            req = request(c, i)
            t0 = time.perf_counter()
            try:
                status, text = await send(session, req)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, text = 0, repr(exc)
            lane.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if status != expect:
                errors[c] += 1
                if not sample:
                    sample.append(f"{status} {text}")

    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=timeout, headers=HTTPS_HEADERS)
        for _ in range(clients)
    ]
    try:
        tasks = [asyncio.create_task(client(c, sessions[c])) for c in range(clients)]
        await all_ready.wait()
        start = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
    finally:
        for s in sessions:
            await s.close()
    flat = [x for lane in latencies for x in lane]
    return HttpRun(
        operations=len(flat) - sum(errors),
        seconds=seconds,
        latencies=flat,
        errors=sum(errors),
        statuses=statuses,
        sample_error=sample[0] if sample else "",
    )
