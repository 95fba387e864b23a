from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wallet.services import run_ledger_check


class Command(BaseCommand):
    help = (
        "Check the ledger's invariants on one consistent snapshot: every transaction balances per unit, "
        "every stored balance (plus pending deltas) equals the sum of its entries, no user or creator "
        "balance is negative, entries match their account's unit, and each unit nets to zero "
        "(coins issued = coins held + coins spent). Stores the run (shown by /healthz) and exits "
        "non-zero when anything is wrong."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        run = run_ledger_check()
        self.stdout.write(
            f"Checked {run.transactions_checked} transactions and {run.accounts_checked} accounts."
        )
        if run.ok:
            self.stdout.write(self.style.SUCCESS("Ledger OK: no problems found."))
            return
        for problem in run.problems:
            self.stdout.write(
                f"{problem['kind']}: {problem['subject']} found={problem['found']} expected={problem['expected']}"
            )
        raise CommandError(f"Ledger check found {len(run.problems)} problem(s).")
