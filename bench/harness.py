"""Shared pieces of the benchmarks: a dedicated database, worker threads started together,
and the result table."""

from __future__ import annotations

import logging
import os
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tests.concurrency import run_concurrently

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench-results"
BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "coinsite_bench")


def bench_database_url(url: str, name: str = BENCH_DB) -> str:
    """The same server as `url`, another database."""
    parts = urlsplit(url)
    query = urlencode(parse_qsl(parts.query))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, query, ""))


# Requests in the benchmarks say they came through the load balancer's TLS, as in production.
HTTPS_HEADERS = {"X-Forwarded-Proto": "https"}


def production_like_env() -> dict[str, str]:
    """Measure what production runs: DEBUG off (no query log on every cursor), with settings
    production accepts at start-up: this run's own random secrets, a named host besides
    loopback, and Stripe Connect as the payout provider (the payout benchmark swaps in the
    local one in its own process)."""
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(24),
        "DJANGO_ALLOWED_HOSTS": "bench.coinsite.test,127.0.0.1,localhost,testserver",
        "SITE_URL": "https://bench.coinsite.test",
        "PAYOUT_PROVIDER": "stripe_connect",
        "LOCAL_PAYOUTS_AUTO_VERIFY": "false",
    }


def prepare_database(name: str = BENCH_DB) -> None:
    """Point Django at a fresh database `name` on the configured server and migrate it."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coinsite")
    os.environ["DATABASE_URL"] = bench_database_url(base, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coinsite.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for variable, value in production_like_env().items():
        os.environ.setdefault(variable, value)
    import django
    from django.conf import settings

    django.setup()
    params = dict(settings.DATABASES["default"])
    kwargs: dict[str, Any] = {
        "dbname": "postgres",
        "user": params.get("USER") or "postgres",
        "autocommit": True,
    }
    host = params.get("HOST") or params.get("OPTIONS", {}).get("host")
    if host:
        kwargs["host"] = host
    port = params.get("PORT") or params.get("OPTIONS", {}).get("port")
    if port:
        kwargs["port"] = port
    with psycopg.connect(**kwargs) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def analyze_database() -> None:
    """Fresh planner statistics, as autovacuum would leave them in production (the shared
    development server runs with autovacuum off, and the benchmarks bulk-load tables: on
    stale statistics the earnings rollup took 13.5 s per day of ledger instead of 0.2 s)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def raw_connection() -> Any:
    """A plain psycopg connection to the benchmark database (no Django in the loop)."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


@dataclass
class Run:
    operations: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def run_workers(workers: int, per_worker: int, work: Callable[[int, int], None]) -> Run:
    """Run `work(worker, i)` per_worker times in each of `workers` threads started together;
    the run lasts from the first worker's start to the last one's end."""

    def lane(w: int) -> tuple[float, float, list[float], int]:
        began, latencies, errors = time.perf_counter(), [], 0
        for i in range(per_worker):
            t0 = time.perf_counter()
            try:
                work(w, i)
            except Exception:  # noqa: BLE001 - counted and reported in the table
                errors += 1
            latencies.append(time.perf_counter() - t0)
        return began, time.perf_counter(), latencies, errors

    lanes = []
    for outcome in run_concurrently(workers, lane, timeout=None):
        if isinstance(outcome, Exception):
            raise outcome
        lanes.append(outcome)
    seconds = max(end for _, end, _, _ in lanes) - min(began for began, _, _, _ in lanes)
    errors = sum(lane_errors for _, _, _, lane_errors in lanes)
    flat = [x for _, _, lane_latencies, _ in lanes for x in lane_latencies]
    return Run(operations=workers * per_worker - errors, seconds=seconds, latencies=flat, errors=errors)


def run_raw_workers(workers: int, per_worker: int, work: Callable[[Any, int, int], None]) -> Run:
    """`run_workers` for raw SQL: `work(conn, worker, i)` with a psycopg connection of each
    worker's own, opened on its first call and closed afterwards."""
    conns: dict[int, Any] = {}

    def with_connection(w: int, i: int) -> None:
        conn = conns.get(w)
        if conn is None:
            conn = conns[w] = raw_connection()
        work(conn, w, i)

    try:
        return run_workers(workers, per_worker, with_connection)
    finally:
        for conn in conns.values():
            conn.close()


class ErrorLog(logging.Handler):
    """Counts ERROR records of one logger while attached, and keeps them off the console
    (a failing background send would otherwise bury the table): `with ErrorLog("x") as log:`."""

    def __init__(self, logger: str) -> None:
        super().__init__(logging.ERROR)
        self.logger = logging.getLogger(logger)
        self.count = 0
        self.first = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if not self.first:
            exc = record.exc_info[1] if record.exc_info else None
            self.first = f"{record.getMessage()}: {type(exc).__name__}: {exc}" if exc else record.getMessage()

    def __enter__(self) -> ErrorLog:
        self._propagate = self.logger.propagate
        self.logger.addHandler(self)
        self.logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = self._propagate

    def note(self, what: str) -> str:
        return f"{self.count:,} {what} ({self.first[:70]})" if self.count else ""


@dataclass
class Row:
    name: str
    figure: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.figure / self.baseline  # type: ignore[operator]


def format_table(rows: list[Row]) -> str:
    header = (
        f"{'benchmark':<52} {'figure':>12} {'unit':<8} {'baseline':<34} {'base fig':>10} {'ratio':>7}  note"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        base = f"{r.baseline:,.1f}" if r.baseline is not None else ""
        lines.append(
            f"{r.name:<52} {r.figure:>12,.1f} {r.unit:<8} {r.baseline_name:<34} {base:>10} {ratio:>7}  {r.note}"
        )
    return "\n".join(lines)
