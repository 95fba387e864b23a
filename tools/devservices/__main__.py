"""The CLI: `python -m tools.devservices up [--hold PID] | release PID | down [--all] | env`
(see the package docstring)."""

from __future__ import annotations

import argparse
import os
import sys

import tools.devservices
from tools.devservices import SERVERS
from tools.devservices.common import (
    LOCKFILE,
    SERVICES_ENV,
    VAR,
    Lock,
    Server,
    ServiceError,
    add_holder,
    auto_started,
    drop_all_holders,
    drop_holder,
    live_holders,
    read_env_file,
    rel,
    set_auto_started,
    write_env,
)

KEYS = {server.key for server in SERVERS}


def _external_url(server: Server, previous: dict[str, str]) -> str:
    """The real server's URL the environment names for `server`, or "" for the embedded one.

    Our own URLs coming back through the environment (a shell that sourced var/services.env)
    still mean "the embedded server": make sure it is running rather than writing them through.
    """
    url = os.environ.get(server.url_var, "").strip()
    if not url:
        return ""
    ours = server.key in previous.get("COINSITE_EMBEDDED", "").split() and url == previous.get(server.url_var)
    return "" if ours or server.is_embedded_url(url) else url


def _stop(servers: list[Server]) -> list[str]:
    return [server.label for server in servers if server.down()]


def _print_stopped(stopped: list[str]) -> None:
    if stopped:
        print("Services: stopped embedded " + " and ".join(stopped) + f" (data kept in {rel(VAR)}/)")


def cmd_up(hold: int | None = None) -> int:
    previous = read_env_file()
    external = {server.key: _external_url(server, previous) for server in SERVERS}
    values: dict[str, str] = {}
    with Lock(LOCKFILE):
        auto = auto_started(KEYS)
        for server in SERVERS:
            url = external[server.key]
            if url:
                values[server.url_var] = url
                server.use_external(url)
                continue
            was_running = server.running()
            values.update(server.up())
            if hold is None:
                auto.discard(server.key)
            elif not was_running:
                auto.add(server.key)
        values["COINSITE_EMBEDDED"] = " ".join(server.key for server in SERVERS if not external[server.key])
        write_env(values)
        set_auto_started(auto)
        if hold is not None:
            add_holder(hold)

    if all(external.values()):
        print("Services: " + " and ".join(server.url_var for server in SERVERS) + " from the environment")
        return 0
    parts = [
        f"{server.url_var} from the environment" if external[server.key] else server.describe()
        for server in SERVERS
    ]
    print("Services: " + " and ".join(parts))
    return 0


def cmd_release(holder: int) -> int:
    """Drop `holder`; when no live holder is left, stop the servers that holders started."""
    with Lock(LOCKFILE):
        drop_holder(holder)
        if live_holders():
            return 0
        auto = auto_started(KEYS)
        stopped = _stop([server for server in SERVERS if server.key in auto])
        set_auto_started(set())
    _print_stopped(stopped)
    return 0


def cmd_down(everything: bool = False) -> int:
    with Lock(LOCKFILE):
        stopped = _stop(SERVERS)
        if everything:
            for server in SERVERS:
                stopped += server.stop_strays()
        set_auto_started(set())
        drop_all_holders()
    if stopped:
        _print_stopped(stopped)
    else:
        print("Services: no embedded server was running")
    return 0


def cmd_env() -> int:
    if not SERVICES_ENV.exists():
        print(
            f"{rel(SERVICES_ENV)} does not exist yet: run `python -m tools.devservices up` first",
            file=sys.stderr,
        )
        return 1
    for line in SERVICES_ENV.read_text().splitlines():
        if line and not line.startswith("#"):
            print(f"export {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    doc = tools.devservices.__doc__
    parser = argparse.ArgumentParser(
        prog="python -m tools.devservices", description=doc.split("\n\n")[0] if doc else None
    )
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
