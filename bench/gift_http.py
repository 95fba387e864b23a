"""Gifts over HTTP: 64 viewers, each with its own DRF token and keep-alive connection, POST
/api/v1/live/<id>/gifts/ (unique Idempotency-Key each) to the real ASGI app under uvicorn, as
the Procfile serves it. Baselines from the same run: the same clients on GET /healthz (the HTTP
floor) and send_gift called in-process (16 workers, no HTTP). A second serving layout is
measured beside it for plain HTTP: gunicorn's gthread workers serving coinsite.wsgi (rows named
"gthread", with the Procfile's layout as their baseline)."""

from __future__ import annotations

import json
import uuid

from bench.gift_service import WORKERS, GiftWorld, gift_world, service_gifts, settle_broadcasts
from bench.harness import ErrorLog, Row
from bench.server import HttpRun, Request, asgi_server, drive
from tools.asgi_server import AsgiServer

CLIENTS = 64
# The candidate layout for plain HTTP (the live pages' websockets would stay on uvicorn).
GTHREAD_WORKERS, GTHREAD_THREADS = 4, 8
GTHREAD_NAME = f"gthread {GTHREAD_WORKERS}x{GTHREAD_THREADS}"
BROADCAST_FAILED = "live broadcast failed"


def tokens_for(world: GiftWorld) -> list[str]:
    from rest_framework.authtoken.models import Token

    made = Token.objects.bulk_create([Token(user=v, key=Token.generate_key()) for v in world.viewers])
    return [t.key for t in made]


def http_gifts(
    server: AsgiServer, world: GiftWorld, tokens: list[str], per_client: int, hot: bool
) -> HttpRun:
    tag = uuid.uuid4().hex[:8]
    body = json.dumps({"gift": world.rose.pk, "count": 1}).encode()
    sessions = world.sessions

    def request(c: int, i: int) -> Request:
        session = sessions[0] if hot else sessions[(c * per_client + i) % len(sessions)]
        return Request(
            "POST",
            f"/api/v1/live/{session.pk}/gifts/",
            {
                "Authorization": f"Token {tokens[c]}",
                "Idempotency-Key": f"bench-{tag}-{c}-{i}",
                "Content-Type": "application/json",
            },
            body,
        )

    return drive(server.url, clients=CLIENTS, per_client=per_client, request=request, expect=201)


def healthz(server: AsgiServer, clients: int, per_client: int) -> HttpRun:
    return drive(
        server.url,
        clients=clients,
        per_client=per_client,
        request=lambda c, i: Request("GET", "/healthz"),
        expect=200,
    )


def median_run(runs: list[HttpRun]) -> HttpRun:
    """The median round by rate (the slower of two), with its own latencies."""
    return sorted(runs, key=lambda run: run.per_second)[(len(runs) - 1) // 2]


def measure(
    server: AsgiServer, world: GiftWorld, tokens: list[str], rounds: int, per_client: int
) -> dict[str, HttpRun]:
    """The median round of each of GET /healthz, gifts to one hot session and gifts spread."""
    runs: dict[str, list[HttpRun]] = {"hot": [], "spread": [], "healthz": []}
    http_gifts(server, world, tokens, 3, hot=False)  # warm-up: plans, caches, imports
    for r in range(rounds):
        order = ("healthz", "hot", "spread") if r % 2 == 0 else ("spread", "hot", "healthz")
        for kind in order:
            if kind == "healthz":
                runs[kind].append(healthz(server, CLIENTS, per_client))
            else:
                runs[kind].append(http_gifts(server, world, tokens, per_client, hot=kind == "hot"))
    return {kind: median_run(kind_runs) for kind, kind_runs in runs.items()}


def run(quick: bool) -> list[Row]:
    rounds, per_client = (1, 6) if quick else (2, 20)
    world = gift_world(CLIENTS)
    tokens = tokens_for(world)
    with asgi_server() as server:
        today = measure(server, world, tokens, rounds, per_client)
        server_broadcast_errors = server.log_count(BROADCAST_FAILED)
    with asgi_server(workers=GTHREAD_WORKERS, wsgi_threads=GTHREAD_THREADS) as server:
        gthread = measure(server, world, tokens, rounds, per_client)
        server_broadcast_errors += server.log_count(BROADCAST_FAILED)
    # The in-process figure, after the server has stopped (same world, same database).
    with ErrorLog("gifts.live_updates") as broadcast_errors:
        service = service_gifts(world, WORKERS, 60 if quick else 250, hot=True)
        settle_broadcasts()

    hot, spread, floor = today["hot"], today["spread"], today["healthz"]
    hot_ok = hot.per_second >= 0.8 * spread.per_second
    return [
        Row(
            "HTTP gifts, 1 hot creator, 64 clients",
            hot.per_second,
            "gifts/s",
            "GET /healthz, 64 clients",
            floor.per_second,
            note=hot.latency_note(),
        ),
        Row(
            "HTTP gifts, spread over 1,000, 64 clients",
            spread.per_second,
            "gifts/s",
            "GET /healthz, 64 clients",
            floor.per_second,
            note=spread.latency_note(),
        ),
        Row(
            "HTTP gifts, 1 hot creator, 64 clients",
            hot.per_second,
            "gifts/s",
            "HTTP gifts, spread over 1,000",
            spread.per_second,
            note=f"target >= 0.80: {'met' if hot_ok else 'MISSED'}",
        ),
        Row(
            "HTTP gifts, 1 hot creator, 64 clients",
            hot.per_second,
            "gifts/s",
            "send_gift in-process, 16 workers",
            service.per_second,
            note=f"median round of {rounds} x {CLIENTS * per_client:,} requests; "
            f"{server_broadcast_errors + broadcast_errors.count:,} live broadcasts failed",
        ),
        Row(
            "GET /healthz, 64 clients",
            floor.per_second,
            "req/s",
            note=floor.latency_note(),
        ),
        *(
            Row(
                f"{name}, {GTHREAD_NAME}",
                gthread[kind].per_second,
                unit,
                f"{name}, uvicorn (Procfile)",
                today[kind].per_second,
                note=gthread[kind].latency_note(),
            )
            for kind, name, unit in (
                ("hot", "HTTP gifts hot", "gifts/s"),
                ("spread", "HTTP gifts spread", "gifts/s"),
                ("healthz", "GET /healthz", "req/s"),
            )
        ),
    ]
