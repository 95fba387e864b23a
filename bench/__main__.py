"""python -m bench [--quick] [--only NAME,...]: run the benchmarks and print one table."""

from __future__ import annotations

import argparse
import datetime
import importlib
import platform
import sys
import time

from bench.harness import RESULTS_DIR, Row, analyze_database, format_table, prepare_database

# Each module has run(quick: bool) -> list[Row].
BENCHMARKS = [
    "ledger",
    "gift_service",
    "gift_http",
    "webhooks",
    "reconciliation",
    "payouts",
    "dashboard",
    "live_video",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument(
        "--only", default="", help="comma-separated benchmark names: " + ", ".join(BENCHMARKS)
    )
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or BENCHMARKS

    prepare_database()
    rows: list[Row] = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        t0 = time.perf_counter()
        print(f"running {name} ...", flush=True)
        analyze_database()
        rows.extend(module.run(args.quick))
        print(f"  {name} took {time.perf_counter() - t0:.1f} s", flush=True)

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    header = (
        f"CoinSite benchmarks {stamp} on {platform.node()} ({platform.processor() or platform.machine()}), "
        f"{'quick' if args.quick else 'full'} sizes, {time.perf_counter() - started:.0f} s"
    )
    table = format_table(rows)
    print()
    print(header)
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    for path in (RESULTS_DIR / f"bench-{stamp}.txt", RESULTS_DIR / "latest.txt"):
        path.write_text(header + "\n" + table + "\n")
    print(f"\nwritten to {RESULTS_DIR / 'latest.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
