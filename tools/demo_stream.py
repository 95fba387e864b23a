"""The demo creator's video for `make run` (a Procfile line): ffmpeg pushes a test pattern with
a tone and a burned-in clock to the media server with the demo creator's stream key, so the
demo's live session plays real video at once. It restarts ffmpeg when it stops (the site may
not be answering yet, or the session was ended), and idles when there is no media server or
no ffmpeg (the live page then says live video is not available).

    python -m tools.demo_stream            # reads MEDIA_RTMP_URL etc. from the environment

Each start issues the demo creator a new stream key (only its hash is stored, so the old one
can't be reused); a key made in the studio for @demo stops working when this starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

DEMO_HANDLE = "demo"
RESTART_SECONDS = 5


def ffmpeg_command(ffmpeg: str, target: str, *, size: str = "640x360", rate: int = 30) -> list[str]:
    """A test pattern with a 440 Hz tone and the wall clock burned in (for reading latency)."""
    clock = "drawtext=text='%{localtime\\:%T}':fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6:x=20:y=20"
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
        "-re", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-vf", clock,
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(rate), "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k",
        "-f", "flv", target,
    ]  # fmt: skip


def _demo_key() -> str | None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coinsite.settings")
    django.setup()
    from creators.models import Creator
    from creators.services import stream_keys

    creator = Creator.objects.filter(handle=DEMO_HANDLE, status=Creator.Status.APPROVED).first()
    return None if creator is None else stream_keys.issue_stream_key(creator=creator)


def _idle(reason: str) -> int:
    print(f"demo stream: idle ({reason})", flush=True)
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # honcho stops everything if we exit
    signal.sigwait(stops)
    return 0


def main() -> int:
    rtmp_url = os.environ.get("MEDIA_RTMP_URL", "")
    if not rtmp_url:
        return _idle(os.environ.get("MEDIA_UNAVAILABLE") or "no media server: MEDIA_RTMP_URL is not set")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return _idle("ffmpeg is not installed (make media installs it)")
    key = None
    for _ in range(30):  # `make run` seeds the demo before honcho starts us; wait for it anyway
        key = _demo_key()
        if key:
            break
        time.sleep(2)
    if not key:
        return _idle(f"no approved creator @{DEMO_HANDLE} (run manage.py seed_demo)")

    running: subprocess.Popen[bytes] | None = None

    def stop(signum: int, frame: FrameType | None) -> None:
        if running is not None and running.poll() is None:
            running.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"demo stream: pushing a test pattern for @{DEMO_HANDLE} to {rtmp_url}", flush=True)
    while True:
        running = subprocess.Popen(ffmpeg_command(ffmpeg, f"{rtmp_url}/{key}"), stdin=subprocess.DEVNULL)
        code = running.wait()
        print(f"demo stream: ffmpeg stopped (exit {code}); again in {RESTART_SECONDS} s", flush=True)
        time.sleep(RESTART_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
