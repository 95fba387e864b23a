"""python -m bench.make_bench_creator N [--supporters S] [--days D]: give the configured database
(DATABASE_URL, e.g. `make run`'s) an approved creator with N diamond ledger entries (gifts and
unlocks from funded viewers, spread over the last D days) in a few set-based SQL statements, then
rebuild that creator's earnings rollups, and print the creator's login. A million entries take
about a minute and a half on 2 cores. `manage.py check_ledger` afterwards shows the ledger is
still balanced."""

from __future__ import annotations

import argparse
import os
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("entries", type=int, help="How many diamond entries the creator gets.")
    parser.add_argument("--supporters", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coinsite.settings")
    import django

    django.setup()
    from bench.creators_data import BENCH_PASSWORD, make_creator_with_entries

    started = time.monotonic()
    bench = make_creator_with_entries(args.entries, supporters=args.supporters, days=args.days)
    print(
        f"Created @{bench.creator.handle} with {bench.entries} entries in {time.monotonic() - started:.1f}s; "
        f"log in as {bench.user.email} / {BENCH_PASSWORD} and open /studio/."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
