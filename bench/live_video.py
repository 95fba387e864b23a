"""Live video on the media server (nginx with the RTMP module, tools/devservices/media.py):

* glass-to-glass latency: ffmpeg pushes a test pattern whose top stripe encodes the frame's
  capture time in milliseconds (24 black/white blocks drawn by the `geq` filter from the frame
  time); headless Chromium plays the HLS with hls.js and reads the stripe back from a canvas.
  Latency = the browser's clock when the frame is on screen - (ffmpeg's start + frame time).
  ffmpeg's start is taken just before it is launched, so the figure errs high by its start-up.
* concurrent HLS viewers: N simulated players (one keep-alive connection each) poll the
  playlist every second and fetch each new segment, as hls.js does, against nginx alone
  (segments never pass through Django). A step "keeps up" when every viewer got at least 90%
  of the segments published in the window and the p95 segment fetch took under a second.
  The figure is the largest step that kept up.

The publish callback is a stub in this process that lets every stream in under one public
name: the site's callbacks are measured by the tests, not here.
"""

from __future__ import annotations

import http.client
import http.server
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import Row
from tools.devservices.media import NginxRtmp, unavailable_reason

STREAM = "live-bench"
BITS = 24  # milliseconds since ffmpeg's start, 24 bits: 4.6 hours
BLOCK = 13  # pixels per bit at 320 wide
SIZE = (320, 180)
RATE = 15
HLS_JS = Path(__file__).resolve().parent.parent / "node_modules" / "hls.js" / "dist" / "hls.min.js"


class _Callback(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/live/rtmp/publish/"):
            self.send_response(302)
            self.send_header("Location", STREAM)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def media_server() -> Iterator[NginxRtmp]:
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as root:
        nginx = NginxRtmp(root=Path(root), callback_base=f"http://127.0.0.1:{stub.server_address[1]}")
        nginx.start()
        try:
            yield nginx
        finally:
            nginx.stop()
            stub.shutdown()


@contextmanager
def clock_stream(nginx: NginxRtmp) -> Iterator[float]:
    """ffmpeg pushing the stripe-clock pattern; yields the wall time it was started at."""
    width, height = SIZE
    stripe = (
        f"color=black:s={width}x16:r={RATE},format=yuv420p,"
        f"geq=lum='if(lt(X,{BITS * BLOCK}),255*mod(floor(T*1000/pow(2,floor(X/{BLOCK}))),2),0)':cb=128:cr=128"
    )
    graph = f"[0:v]format=yuv420p[bg];{stripe}[bits];[bg][bits]overlay=0:0[v]"
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-re", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={RATE}",
        "-filter_complex", graph, "-map", "[v]",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(RATE),
        "-pix_fmt", "yuv420p", "-f", "flv", f"{nginx.rtmp_url}/bench-key",
    ]  # fmt: skip
    started = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        yield started
    finally:
        proc.terminate()
        proc.wait(10)


def _playlist(nginx: NginxRtmp) -> str:
    return f"{nginx.hls_url}/{STREAM}/index.m3u8"


def _wait_for_playlist(nginx: NginxRtmp, timeout: float = 20) -> None:
    path = nginx.root / "hls" / STREAM / "index.m3u8"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return
        time.sleep(0.1)
    raise RuntimeError(f"nginx wrote no playlist: {nginx.log_tail()}")


READ_STRIPE = f"""() => {{
  const v = document.querySelector('video');
  if (!v || v.readyState < 2) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const scale = v.videoWidth / {SIZE[0]};
  let ms = 0;
  for (let i = 0; i < {BITS}; i++) {{
    const px = g.getImageData(Math.floor((i * {BLOCK} + {BLOCK} / 2) * scale), Math.floor(8 * scale), 1, 1).data;
    if ((px[0] + px[1] + px[2]) / 3 > 128) ms += Math.pow(2, i);
  }}
  return [Date.now(), ms];
}}"""


def glass_to_glass(nginx: NginxRtmp, samples: int) -> list[float]:
    """Seconds from capture to screen, one per sample (about 0.5 s apart)."""
    from playwright.sync_api import sync_playwright

    latencies: list[float] = []
    with clock_stream(nginx) as started, sync_playwright() as pw:
        _wait_for_playlist(nginx)
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            page = browser.new_page()
            page.set_content("<video muted autoplay playsinline></video>")
            page.add_script_tag(path=str(HLS_JS))
            page.evaluate(
                """url => { const h = new Hls({liveSyncDurationCount: 1, enableWorker: false});
                            h.loadSource(url); h.attachMedia(document.querySelector('video'));
                            h.on(Hls.Events.MANIFEST_PARSED, () => document.querySelector('video').play()); }""",
                _playlist(nginx),
            )
            page.wait_for_function("document.querySelector('video').currentTime > 1", timeout=30_000)
            while len(latencies) < samples:
                reading = page.evaluate(READ_STRIPE)
                if reading:
                    now_ms, frame_ms = reading
                    latencies.append((now_ms - (started * 1000 + frame_ms)) / 1000)
                page.wait_for_timeout(500)
        finally:
            browser.close()
    return latencies


def _viewer(
    nginx: NginxRtmp, seconds: float, got: list[int], fetch_times: list[float], errors: list[str]
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=5)
    base = f"/hls/{STREAM}/"
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    count = 0
    try:
        while time.monotonic() < deadline:
            tick = time.monotonic()
            conn.request("GET", base + "index.m3u8")
            response = conn.getresponse()
            body = response.read().decode()
            if response.status != 200:
                errors.append(f"playlist {response.status}")
            for segment in (line for line in body.splitlines() if line.endswith(".ts")):
                if segment in seen:
                    continue
                if not seen:  # join at the live edge, like a player
                    seen.update(line for line in body.splitlines() if line.endswith(".ts"))
                    break
                seen.add(segment)
                t0 = time.monotonic()
                conn.request("GET", base + segment)
                segment_response = conn.getresponse()
                segment_response.read()
                fetch_times.append(time.monotonic() - t0)
                if segment_response.status == 200:
                    count += 1
                else:
                    errors.append(f"segment {segment_response.status}")
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    except OSError as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
        got.append(count)


def viewers_step(nginx: NginxRtmp, viewers: int, seconds: float) -> tuple[bool, str]:
    got: list[int] = []
    fetch_times: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_viewer, args=(nginx, seconds, got, fetch_times, errors))
        for _ in range(viewers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    published = max(1, int(seconds) - 2)  # 1 s fragments; the first poll only joins
    fetch_times.sort()
    p95 = fetch_times[int(len(fetch_times) * 0.95)] if fetch_times else float("inf")
    kept_up = not errors and min(got, default=0) >= 0.9 * published and p95 < 1.0
    note = f"{viewers} viewers: min {min(got, default=0)} segments each in {seconds:.0f} s, p95 fetch {p95 * 1000:.0f} ms"
    if errors:
        note += f", {len(errors)} errors ({errors[0]})"
    return kept_up, note


def run(quick: bool) -> list[Row]:
    reason = unavailable_reason()
    if reason:
        return [Row("live video", 0, "-", note=f"skipped: {reason}")]
    samples, steps, seconds = (4, [5, 20], 6.0) if quick else (20, [50, 200, 500, 1000], 12.0)
    rows: list[Row] = []
    with media_server() as nginx:
        latencies = glass_to_glass(nginx, samples)
        rows.append(
            Row(
                "live video: glass-to-glass latency (HLS, 1 s fragments)",
                statistics.median(latencies),
                "s",
                note=f"median of {len(latencies)}; min {min(latencies):.2f} s, max {max(latencies):.2f} s",
            )
        )
        with clock_stream(nginx):
            _wait_for_playlist(nginx)
            time.sleep(2)
            served = 0
            notes = []
            for viewers in steps:
                kept_up, note = viewers_step(nginx, viewers, seconds)
                notes.append(note + ("" if kept_up else " (fell behind)"))
                if not kept_up:
                    break
                served = viewers
        rows.append(
            Row(
                "live video: concurrent HLS viewers kept up (nginx)",
                served,
                "viewers",
                note="; ".join(notes),
            )
        )
    return rows
