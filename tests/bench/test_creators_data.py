"""The benchmark's bulk loader writes a valid ledger, and the dashboard reads it exactly."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from bench.creators_data import make_creator_with_entries
from creators.models import CreatorEarningsDay
from creators.selectors import creator_earnings_dashboard
from wallet.models import Entry
from wallet.selectors import diamond_balance
from wallet.services import run_ledger_check


@pytest.mark.django_db(transaction=True)
def test_a_bench_creator_has_n_valid_entries_and_the_ledger_check_stays_clean():
    bench = make_creator_with_entries(500, supporters=7, days=30)

    entries = Entry.objects.filter(account_id=bench.account_id)
    assert entries.count() == 500
    total = entries.aggregate(s=Sum("amount"))["s"]
    assert diamond_balance(user_id=bench.user.pk) == total > 0
    assert (
        CreatorEarningsDay.objects.filter(account_id=bench.account_id).aggregate(s=Sum("diamonds"))["s"]
        == total
    )
    board = creator_earnings_dashboard(creator=bench.creator, days=30)
    assert board.diamonds == total
    assert board.by_source_all_time["gifts"] + board.by_source_all_time["unlocks"] == total
    assert len(board.top_supporters) == 7
    assert sum(s.diamonds for s in board.top_supporters) == total
    assert sum(1 for bar in board.bars if bar.diamonds) >= 29
    check = run_ledger_check()
    assert check.ok, check.problems
