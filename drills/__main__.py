"""python -m drills [--small] [--only NAME,...]: run the fault drills; exit 1 if any fails."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

DRILLS = ["pg_drop", "two_beats", "payout_kill", "redis_outage", "webhook_flood", "chargeback"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="the small size `make test` runs")
    parser.add_argument("--only", default="", help="comma-separated drills: " + ", ".join(DRILLS))
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or DRILLS

    from bench.harness import prepare_database
    from drills.harness import DRILLS_DB

    prepare_database(DRILLS_DB)
    failed = 0
    for name in names:
        t0 = time.perf_counter()
        report = importlib.import_module(f"drills.{name}").run(args.small)
        print(report.text())
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
        failed += not report.ok
    print(f"\n{len(names) - failed} of {len(names)} drills passed ({'small' if args.small else 'full'} size)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
