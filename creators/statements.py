"""A creator's diamond statement as CSV: every entry of their diamond account with its running
balance, then a totals line."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from typing import IO

from creators.models import Creator
from creators.selectors import creator_account_id, one_snapshot
from wallet.selectors import copy_entries_csv

logger = logging.getLogger(__name__)

STATEMENT_HEADER = ["date", "transaction", "kind", "reference", "amount", "balance"]


@dataclass(frozen=True)
class StatementTotals:
    entries: int
    credits: int
    debits: int
    total: int
    balance: int


def write_statement(*, creator: Creator, out: IO[bytes]) -> StatementTotals:
    """Write the creator's diamond statement as CSV: every ledger entry of their account with
    date, transaction, kind, reference, amount and running balance, then a totals line whose
    amount is the sum of the entries and whose balance is the account's exact balance, all read
    in one snapshot (so they agree to the diamond)."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(STATEMENT_HEADER)
    out.write(header.getvalue().encode())
    account_id = creator_account_id(creator=creator)
    totals = StatementTotals(entries=0, credits=0, debits=0, total=0, balance=0)
    if account_id is not None:
        with one_snapshot():
            read = copy_entries_csv(account_id=account_id, out=out)
        totals = StatementTotals(
            entries=read.entries,
            credits=read.credits,
            debits=read.debits,
            total=read.total,
            balance=read.balance,
        )
    if totals.total != totals.balance:
        logger.error(
            "statement total differs from the balance", extra={"account_id": account_id, "totals": totals}
        )
    footer = io.StringIO()
    csv.writer(footer, lineterminator="\n").writerow(
        [
            "TOTAL",
            "",
            "",
            f"{totals.entries} entries; credits {totals.credits}; debits {totals.debits}",
            totals.total,
            totals.balance,
        ]
    )
    out.write(footer.getvalue().encode())
    return totals
