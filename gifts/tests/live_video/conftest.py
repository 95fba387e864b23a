"""A real media server for the live video tests: a private nginx-rtmp (tools/devservices/media.py)
whose publish callbacks reach this test's own ASGI server, ffmpeg pushing a synthetic stream,
and a real Celery worker (in a thread, on a queue of its own) for the reconnect grace."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.devservices.media import NginxRtmp, unavailable_reason

GRACE_SECONDS = 2.0
BASE_DIR = Path(__file__).resolve().parents[3]


@dataclass
class LiveMedia:
    site: str  # the ASGI server's URL
    nginx: NginxRtmp


@pytest.fixture
def live_media(
    transactional_db: None,
    request: pytest.FixtureRequest,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[LiveMedia]:
    reason = unavailable_reason()
    if reason:
        pytest.fail(f"live video tests need the media server: {reason}")
    nginx = NginxRtmp(root=tmp_path / "media-server", callback_base="")
    queue = f"live-video-test-{uuid.uuid4().hex[:8]}"
    # The ASGI server inherits this environment (tools/asgi_server.py); this process's settings
    # match it, so services called from the test drop publishers on the same nginx.
    env = {**nginx.env(), "LIVE_RECONNECT_GRACE_SECONDS": str(GRACE_SECONDS), "CELERY_QUEUE": queue}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
        if name.startswith("MEDIA_"):
            setattr(settings, name, value)
    settings.MEDIA_UNAVAILABLE = ""
    settings.LIVE_RECONNECT_GRACE_SECONDS = GRACE_SECONDS
    site: str = request.getfixturevalue("asgi_server")
    nginx.callback_base = site
    nginx.start()
    try:
        with _celery_worker(queue, tmp_path / "celery.log"):
            yield LiveMedia(site=site, nginx=nginx)
    finally:
        nginx.stop()


def _test_database_url() -> str:
    """The test database as a DATABASE_URL for a child process (as the asgi_server fixture builds it)."""
    from django.db import connection

    db = connection.settings_dict
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    user = db.get("USER") or "postgres"
    port = db.get("PORT") or db.get("OPTIONS", {}).get("port") or 5432
    if host.startswith("/"):
        return f"postgresql://{user}@/{db['NAME']}?host={host}&port={port}"
    return f"postgres://{user}:{db.get('PASSWORD') or ''}@{host}:{port}/{db['NAME']}"


@contextmanager
def _celery_worker(queue: str, log: Path) -> Iterator[None]:
    """A real Celery worker process on the test database, consuming only `queue` (where the
    test's ASGI server sends its tasks)."""
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "DB_CONN_MAX_AGE": "0"}
    cmd = [sys.executable, "-m", "celery", "-A", "coinsite", "worker", "-P", "solo", "-Q", queue]
    cmd += ["-l", "info", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ffmpeg_push(rtmp_url: str, key: str) -> subprocess.Popen[bytes]:
    """ffmpeg publishing a small test pattern with a tone (320x180, 15 fps, keyframe every
    second) to `rtmp_url`/`key` until stopped."""
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15",
        "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k",
        "-f", "flv", f"{rtmp_url}/{key}",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def push() -> Iterator[Callable[[str, str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(rtmp_url: str, key: str) -> subprocess.Popen[bytes]:
        proc = ffmpeg_push(rtmp_url, key)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop_push(proc)


def stop_push(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
