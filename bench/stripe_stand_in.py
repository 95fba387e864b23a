"""localstripe for the benchmarks: tools/localstripe_server.py's in-memory, loopback server,
with its lists indexed by object type.

localstripe lists objects by scanning its whole store, and exporting a PaymentIntent lists
its charge's refunds (three scans: refunds, amount_refunded, refunded), so every create and
retrieve gets slower as the store grows: measured here, 7 ms per create+confirm on an empty
store, 118 ms at 3,000 PaymentIntents (retrieve 89 ms). Ten thousand would take hours and
time localstripe, not us. The index keeps the same objects in the same (insertion) order.

    python -m bench.stripe_stand_in --port PORT     (or `start(port)` from Python)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from bench.harness import BASE_DIR


def index_lists_by_type() -> None:
    from localstripe import resources

    by_type: dict[str, dict[str, Any]] = {}
    store_class = resources.Store

    def setitem(self: dict[str, Any], key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        kind, sep, _ = key.partition(":")
        if sep:
            by_type.setdefault(kind, {})[key] = value

    def delitem(self: dict[str, Any], key: str) -> None:
        dict.__delitem__(self, key)
        kind, sep, _ = key.partition(":")
        if sep:
            by_type.get(kind, {}).pop(key, None)

    def clear(self: dict[str, Any]) -> None:
        dict.clear(self)
        by_type.clear()

    def list_all(cls: Any, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        li = resources.List(url, limit=limit, starting_after=starting_after)
        li._list = list(by_type.get(cls.object, {}).values())
        return li

    store_class.__setitem__ = setitem
    store_class.__delitem__ = delitem
    store_class.clear = clear
    resources.StripeObject._api_list_all = classmethod(list_all)
    resources.store.clear()


def start(port: int, secret: str) -> subprocess.Popen[bytes]:
    """Launch it on 127.0.0.1:`port` (no webhook registered), wait until it answers."""
    from tools.localstripe_server import wait_until_up

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.stripe_stand_in", "--port", str(port), "--secret", secret],
        cwd=BASE_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc=proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def main() -> None:
    from tools.localstripe_server import serve

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", default="whsec_test_local")
    args = parser.parse_args()
    index_lists_by_type()
    serve("127.0.0.1", args.port, None, args.secret)


if __name__ == "__main__":
    main()
