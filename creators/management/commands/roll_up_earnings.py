from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from creators.services import rebuild_creator_earnings, roll_up_creator_earnings


class Command(BaseCommand):
    help = (
        "Fold creator ledger entries created since the last run into the daily earnings rollups "
        "(what the Celery beat task creators.tasks.roll_up_earnings does). With --rebuild-account ID, "
        "recompute that creator diamond account's rollups from its whole ledger instead (after a bulk "
        "load of backdated entries, or to repair). Safe to run at any time; figures on the dashboard "
        "are exact either way, the rollups only make them fast."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild-account", type=int, help="A creator diamond account id to recompute.")

    def handle(self, *args: Any, **options: Any) -> None:
        account_id = options.get("rebuild_account")
        if account_id:
            run = rebuild_creator_earnings(account_id=account_id)
            self.stdout.write(
                f"Rebuilt account {account_id}: {run.entries} entries up to {run.horizon.isoformat()}."
            )
        else:
            run = roll_up_creator_earnings()
            self.stdout.write(f"Rolled up {run.entries} entries; horizon now {run.horizon.isoformat()}.")
