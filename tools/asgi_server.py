"""Start the real ASGI app (HTTP and the live pages' websockets) under uvicorn, as the
Procfile runs it, and wait until it answers. The browser tests, the HTTP benchmarks and the
fault drills all start it through here.

    with asgi_server(env={...}, workers=2, log=path) as server:
        requests.get(server.url + "/healthz")

The server runs in a session (process group) of its own, so stopping it stops every uvicorn
worker it forked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.localstripe_server import free_port

BASE_DIR = Path(__file__).resolve().parent.parent

# What every server started here gets unless the caller says otherwise: the loopback host is
# allowed, and each request borrows a connection from a small pool (DB_POOL_SIZE, as in the
# Procfile) instead of keeping one per thread.
DEFAULT_ENV = {
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DB_CONN_MAX_AGE": "0",
    "DB_POOL_SIZE": "4",
}


@dataclass
class AsgiServer:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path | None

    def log_count(self, text: str) -> int:
        """How many lines of the server's output so far contain `text`."""
        if self.log is None:
            return 0
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if text in line)

    def log_tail(self, size: int = 2000) -> str:
        if self.log is None or not self.log.exists():
            return ""
        with open(self.log, "rb") as f:
            f.seek(max(0, self.log.stat().st_size - size))
            return f.read().decode(errors="replace")

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_for_http(url: str, *, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    """Wait until `url` answers (any HTTP status); raise if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def start_asgi_server(
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    log: Path | None = None,
    fast: bool = False,
    wsgi_threads: int | None = None,
    timeout: float = 60.0,
) -> AsgiServer:
    """uvicorn serving coinsite.asgi on a free loopback port with `env` (default: this
    process's environment) over DEFAULT_ENV; output to `log` (appended) or inherited.
    `fast`: uvloop and httptools, no access log (what the benchmarks measure).
    `wsgi_threads`: plain HTTP only (no websockets), from coinsite.wsgi under gunicorn's
    gthread workers with that many threads each, instead of uvicorn."""
    port = free_port()
    child_env = {**os.environ, **DEFAULT_ENV, **(env or {})}
    if wsgi_threads is not None:
        cmd = [sys.executable, "-m", "gunicorn", "coinsite.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        cmd += ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(wsgi_threads)]
        cmd += ["--log-level", "warning"]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "coinsite.asgi:application", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", str(workers), "--lifespan", "off", "--log-level", "warning"]
        if fast:
            cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    out = open(log, "ab") if log is not None else None  # noqa: SIM115 - the child owns it
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,
        )
    finally:
        if out is not None:
            out.close()
    server = AsgiServer(proc=proc, url=f"http://127.0.0.1:{port}", log=log)
    try:
        wait_for_http(f"{server.url}/healthz", proc=proc, timeout=timeout)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}: {server.log_tail()}") from exc
    return server


@contextmanager
def asgi_server(**kwargs: object) -> Iterator[AsgiServer]:
    """`start_asgi_server(**kwargs)`, stopped when the block ends."""
    server = start_asgi_server(**kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
