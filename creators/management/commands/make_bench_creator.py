from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bench.creators_data import BENCH_PASSWORD, make_creator_with_entries


class Command(BaseCommand):
    help = (
        "Create an approved creator with N diamond ledger entries (gifts and unlocks from funded viewers, "
        "spread over the last --days days) for the earnings dashboard benchmark, using a few set-based SQL "
        "statements; then rebuild that creator's earnings rollups. Prints the creator's login. A million "
        "entries take about a minute and a half on 2 cores. Run `manage.py check_ledger` afterwards to see "
        "the ledger is still balanced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entries", type=int, help="How many diamond entries the creator gets.")
        parser.add_argument("--supporters", type=int, default=50)
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        bench = make_creator_with_entries(
            options["entries"], supporters=options["supporters"], days=options["days"]
        )
        self.stdout.write(
            f"Created @{bench.creator.handle} with {bench.entries} entries in {time.monotonic() - started:.1f}s; "
            f"log in as {bench.user.email} / {BENCH_PASSWORD} and open /studio/."
        )
