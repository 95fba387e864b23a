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


def in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    from django.db import connection

    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def runner(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the drill
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


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
