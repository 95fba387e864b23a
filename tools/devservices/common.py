"""What the servers and the CLI share: the paths in var/, the lock, the holders, the env file,
process and port helpers, and `Server`, the shape of one server."""

from __future__ import annotations

import abc
import os
import shlex
import socket
import time
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
VAR = BASE / "var"
SERVICES_ENV = VAR / "services.env"
LOCKFILE = VAR / ".devservices.lock"
# Servers started on behalf of a "holder" (the shell running `make run`, `make test`, ...) are
# stopped again when the last live holder releases them. Servers started or reused by a plain
# `up` (`make services`) are the user's: only `down` stops them.
HOLDERS_DIR = VAR / ".holders"
AUTO_FILE = VAR / ".auto-started"

RESERVED_PORTS = {5432, 6379}  # held by the machines' own services


class ServiceError(RuntimeError):
    pass


class Server(abc.ABC):
    """One server `up` starts inside var/ unless `url_var` names a real one.

    Adding a server is one module holding a subclass, listed in `tools.devservices.SERVERS`.
    """

    key: str  # its word in COINSITE_EMBEDDED (var/services.env) and var/.auto-started
    label: str  # its name in messages: "PostgreSQL"
    url_var: str  # the variable that, set in the environment, names a real server and wins

    @abc.abstractmethod
    def running(self) -> bool:
        """Whether the embedded server is up and answering."""

    @abc.abstractmethod
    def up(self) -> dict[str, str]:
        """Start (or reuse) the embedded server; return its lines of var/services.env,
        `url_var` first."""

    @abc.abstractmethod
    def down(self) -> bool:
        """Stop the embedded server (its data stays); False when it was not running."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The running embedded server for people: "embedded Redis 6.2 (127.0.0.1:6390)"."""

    @abc.abstractmethod
    def is_embedded_url(self, url: str) -> bool:
        """Whether `url` names this embedded server (a shell that sourced var/services.env)."""

    def use_external(self, url: str) -> None:
        """Prepare a real server that `url_var` names (e.g. create its database); most need nothing."""
        return None

    def stop_strays(self) -> list[str]:
        """For `down --all`: stop other servers of this kind with data under var/ and name them."""
        return []


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(BASE))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- locking


class Lock:
    """Serialise concurrent `up`/`down` runs (e.g. `make run` and `make test` side by side)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> Lock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------- processes


def pid_alive(pid: int) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def process_matches(pid: int, name: str, needle: str | None = None) -> bool:
    """True when `pid` is alive, is called `name`, and (optionally) has `needle` on its command line."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
        exe_name = Path(cmdline[0]).name if cmdline else proc.name()
        if name not in (proc.name(), exe_name) and not (cmdline and cmdline[0].startswith(name)):
            return False
        return needle is None or needle in " ".join(cmdline)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like redis itself: a port whose old connections sit in TIME_WAIT is still usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


# --------------------------------------------------------------------------- var/services.env


def write_env(values: dict[str, str]) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
    tmp = SERVICES_ENV.with_suffix(".env.tmp")
    tmp.write_text(
        "# Written by `python -m tools.devservices up`; source with: set -a; . var/services.env; set +a\n"
        + body
    )
    tmp.replace(SERVICES_ENV)


def read_env_file() -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = SERVICES_ENV.read_text()
    except OSError:
        return values
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, raw = line.partition("=")
            parts = shlex.split(raw)
            values[key.strip()] = parts[0] if parts else ""
    return values


# --------------------------------------------------------------------------- holders


def auto_started(known: set[str]) -> set[str]:
    """The servers (keys among `known`) that holders started and the last holder stops."""
    try:
        return set(AUTO_FILE.read_text().split()) & known
    except OSError:
        return set()


def set_auto_started(names: set[str]) -> None:
    if names:
        AUTO_FILE.write_text(" ".join(sorted(names)) + "\n")
    else:
        AUTO_FILE.unlink(missing_ok=True)


def add_holder(pid: int) -> None:
    HOLDERS_DIR.mkdir(parents=True, exist_ok=True)
    (HOLDERS_DIR / str(pid)).touch()


def drop_holder(pid: int) -> None:
    (HOLDERS_DIR / str(pid)).unlink(missing_ok=True)


def drop_all_holders() -> None:
    for entry in HOLDERS_DIR.glob("*") if HOLDERS_DIR.exists() else []:
        entry.unlink(missing_ok=True)


def live_holders() -> list[int]:
    live = []
    for entry in HOLDERS_DIR.glob("*") if HOLDERS_DIR.exists() else []:
        try:
            pid = int(entry.name)
        except ValueError:
            entry.unlink(missing_ok=True)
            continue
        if pid_alive(pid):
            live.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return live
