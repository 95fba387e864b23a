"""Run localstripe (the offline Stripe test-mode stand-in) on loopback, with our webhook registered.

    .venv/bin/python tools/localstripe_server.py [--port 8420] [--webhook-url URL | --no-webhook]

Differences from the `localstripe` command, on purpose:

* it listens on 127.0.0.1 only (the stock command binds every interface);
* it always starts from scratch, and never writes its pickled store to the system temp
  directory (the stock server rewrites /tmp/localstripe.pickle after every write, which is
  shared between instances and makes writes slower as the store grows);
* the webhook `coinsite` (url --webhook-url, secret $STRIPE_WEBHOOK_SECRET) is registered
  before the first request is served; registrations do not survive a restart.

From Python (e.g. a pytest session fixture):

    proc = start_localstripe(port, "http://127.0.0.1:8000/stripe/webhook/", "whsec_test_local")
    ...
    stop_localstripe(proc)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_PORT = 8420
DEFAULT_HOST = "127.0.0.1"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/stripe/webhook/"
DEFAULT_WEBHOOK_SECRET = "whsec_test_local"
WEBHOOK_ID = "coinsite"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

__all__ = ["free_port", "register_webhook", "start_localstripe", "wait_until_up"]


def free_port(host: str = DEFAULT_HOST) -> int:
    """A currently free TCP port on `host` (for tests that start their own instance)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def register_webhook(
    base_url: str,
    webhook_url: str,
    secret: str,
    *,
    webhook_id: str = WEBHOOK_ID,
    events: list[str] | None = None,
    timeout: float = 10.0,
) -> None:
    """Register (or overwrite) a webhook on a running localstripe: POST /_config/webhooks/<id>."""
    body: dict[str, object] = {"url": webhook_url, "secret": secret}
    if events is not None:
        body["events"] = list(events)
    request = urllib.request.Request(
        base_url.rstrip("/") + f"/_config/webhooks/{urllib.parse.quote(webhook_id)}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status != 200:
            raise RuntimeError(f"localstripe refused the webhook registration: HTTP {response.status}")


def _answers(base_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/js.stripe.com/v3/", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def wait_until_up(base_url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"localstripe exited with code {proc.returncode} before answering on {base_url}"
            )
        if _answers(base_url):
            return
        time.sleep(0.1)
    raise RuntimeError(f"localstripe did not answer on {base_url} within {timeout:.0f}s")


def start_localstripe(
    port: int,
    webhook_url: str | None,
    secret: str,
    *,
    host: str = DEFAULT_HOST,
    timeout: float = 30.0,
    log_file: Path | str | None = None,
) -> subprocess.Popen[bytes]:
    """Launch this script as a subprocess, wait until it answers, register the webhook, return the Popen.

    `webhook_url=None` starts it without a webhook. The caller owns the process
    (stop it with `stop_localstripe`). Output goes to `log_file` if given, else is discarded.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--host", host, "--no-webhook"]
    if log_file is not None:
        with open(log_file, "ab") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    else:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
    base_url = f"http://{host}:{port}"
    try:
        wait_until_up(base_url, timeout=timeout, proc=proc)
        if webhook_url:
            register_webhook(base_url, webhook_url, secret)
    except BaseException:
        stop_localstripe(proc)
        raise
    return proc


def stop_localstripe(proc: subprocess.Popen[bytes]) -> None:
    """Stop a localstripe started here: SIGTERM, then SIGKILL if it has not gone in 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve(host: str, port: int, webhook_url: str | None, secret: str) -> None:
    """Run localstripe in this process (blocks until SIGINT/SIGTERM)."""
    from aiohttp import web
    from localstripe import resources, server, webhooks

    # Keep the store in memory only: no pickle in the system temp dir, nothing loaded from it.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    resources.store.clear()

    if webhook_url:
        # The same call POST /_config/webhooks/<id> makes, done before the first request is served
        # so no event can slip out unsigned-for-us.
        webhooks.register_webhook(WEBHOOK_ID, webhook_url, secret, None)

    access_log = logging.getLogger("aiohttp.access")
    access_log.setLevel(logging.INFO)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)

    where = f"http://{host}:{port}"
    hook = f"webhook {WEBHOOK_ID!r} -> {webhook_url}" if webhook_url else "no webhook"
    print(f"localstripe on {where} (from scratch, in memory; {hook})", flush=True)
    web.run_app(server.app, host=host, port=port, access_log=access_log, print=None)


def _api_base() -> urllib.parse.SplitResult | None:
    value = os.environ.get("STRIPE_API_BASE", "").strip()
    return urllib.parse.urlsplit(value) if value else None


def _default_port() -> int:
    """$LOCALSTRIPE_PORT, else the port of a loopback STRIPE_API_BASE, else 8420."""
    if os.environ.get("LOCALSTRIPE_PORT"):
        return int(os.environ["LOCALSTRIPE_PORT"])
    base = _api_base()
    if base is not None and base.hostname in LOOPBACK and base.port:
        return base.port
    return DEFAULT_PORT


def _idle_until_stopped(message: str) -> None:
    # Under a Procfile runner an exiting process stops all the others, so wait for SIGTERM/SIGINT.
    print(message, flush=True)
    stop = {"now": False}

    def handler(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop["now"]:
        signal.pause()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run localstripe on loopback with the CoinSite webhook.")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"default: $LOCALSTRIPE_PORT, else the port of a loopback STRIPE_API_BASE, else {DEFAULT_PORT}",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("LOCALSTRIPE_WEBHOOK_URL", DEFAULT_WEBHOOK_URL),
        help=f"where localstripe posts events (default {DEFAULT_WEBHOOK_URL})",
    )
    parser.add_argument("--no-webhook", action="store_true", help="do not register a webhook")
    parser.add_argument(
        "--idle-if-remote",
        action="store_true",
        help="if STRIPE_API_BASE names a remote server (real Stripe test mode), start nothing and idle",
    )
    args = parser.parse_args(argv)
    base = _api_base()
    if args.idle_if_remote and base is not None and base.hostname not in LOOPBACK:
        _idle_until_stopped(f"STRIPE_API_BASE is {base.geturl()}: using it, localstripe not started")
        return 0
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET
    port = args.port if args.port is not None else _default_port()
    serve(args.host, port, None if args.no_webhook else args.webhook_url, secret)
    return 0


if __name__ == "__main__":
    sys.exit(main())
