"""The earnings rollups never miss nor double-count an entry, even when transactions commit
out of id order; the dashboard is exact before, between and after rollup runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from bench.creators_data import make_creator_with_entries
from creators.models import CreatorEarningsDay, CreatorSupporter, EarningsRollupState
from creators.selectors import creator_account_id, creator_earnings_dashboard, creator_gift_total
from creators.services import earnings as earnings_service
from creators.services import rebuild_creator_earnings, roll_up_creator_earnings
from wallet.models import Entry, Transaction
from wallet.services import spend_coins

pytestmark = pytest.mark.django_db(transaction=True)


def _gift(viewer, creator, coins: int, key: str) -> int:
    spend = spend_coins(
        spender=viewer,
        coins=coins,
        creator_user_id=creator.user_id,
        diamonds=coins,
        kind=Transaction.Kind.GIFT,
        idempotency_key=key,
    )
    return spend.transaction.id


def _rolled_up(account_id: int) -> int:
    return CreatorEarningsDay.objects.filter(account_id=account_id).aggregate(s=Sum("diamonds"))["s"] or 0


def test_an_entry_that_commits_after_a_later_one_is_still_counted_once(
    make_user, fund, make_creator, monkeypatch
):
    monkeypatch.setattr(earnings_service, "CLOCK_MARGIN", timedelta(0))
    creator = make_creator()
    slow, fast = make_user(), make_user()
    fund(slow, 1000)
    fund(fast, 1000)
    posted = threading.Event()
    release = threading.Event()
    slow_txn: list[int] = []

    def slow_gift() -> None:
        try:
            with transaction.atomic():
                slow_txn.append(_gift(slow, creator, 7, "slow-gift"))
                posted.set()
                assert release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_gift)
    thread.start()
    assert posted.wait(30)
    fast_txn = _gift(fast, creator, 100, "fast-gift")  # a higher entry id, committed first
    account_id = creator_account_id(creator=creator)

    run = roll_up_creator_earnings()

    slow_started = Transaction.objects.filter(pk=slow_txn[0]).values_list("created_at", flat=True)
    assert not slow_started  # still uncommitted, so invisible here
    assert _rolled_up(account_id) == 0  # the horizon stopped before the open transaction began
    assert creator_gift_total(creator=creator) == 100
    release.set()
    thread.join(30)
    slow_created = Transaction.objects.get(pk=slow_txn[0]).created_at
    assert run.horizon <= slow_created
    assert (
        Entry.objects.get(transaction_id=slow_txn[0], account_id=account_id).id
        < Entry.objects.get(transaction_id=fast_txn, account_id=account_id).id
    )
    assert creator_gift_total(creator=creator) == 107  # live tail, before the next run

    roll_up_creator_earnings()

    assert _rolled_up(account_id) == 107
    assert creator_gift_total(creator=creator) == 107
    assert creator_earnings_dashboard(creator=creator).by_source_all_time["gifts"] == 107
    supporters = dict(
        CreatorSupporter.objects.filter(account_id=account_id).values_list("supporter_id", "diamonds")
    )
    assert supporters == {slow.pk: 7, fast.pk: 100}
    roll_up_creator_earnings()
    assert _rolled_up(account_id) == 107  # a run with nothing new adds nothing


def test_a_rebuild_gives_the_same_rollups_as_incremental_runs(make_user, fund, make_creator, monkeypatch):
    monkeypatch.setattr(earnings_service, "CLOCK_MARGIN", timedelta(0))
    creator = make_creator()
    viewer = make_user()
    fund(viewer, 1000)
    for i in range(3):
        _gift(viewer, creator, 10 + i, f"gift-{i}")
        roll_up_creator_earnings()
    account_id = creator_account_id(creator=creator)
    incremental = list(
        CreatorEarningsDay.objects.filter(account_id=account_id).values_list(
            "day", "kind", "diamonds", "count"
        )
    )

    rebuild_creator_earnings(account_id=account_id)

    assert (
        list(
            CreatorEarningsDay.objects.filter(account_id=account_id).values_list(
                "day", "kind", "diamonds", "count"
            )
        )
        == incremental
    )
    assert incremental[0][2:] == (33, 3)
    assert EarningsRollupState.objects.get().last_run_at is not None


def _by_day_kind(account_id: int) -> dict[tuple[object, str], int]:
    rows = CreatorEarningsDay.objects.filter(account_id=account_id).values_list("day", "kind", "diamonds")
    return {(day, kind): diamonds for day, kind, diamonds in rows}


def test_a_long_backlog_is_rolled_up_in_bounded_windows_with_the_same_result(monkeypatch):
    monkeypatch.setattr(earnings_service, "CLOCK_MARGIN", timedelta(0))
    bench = make_creator_with_entries(240, supporters=4, days=20)
    expected = _by_day_kind(bench.account_id)
    CreatorEarningsDay.objects.all().delete()
    CreatorSupporter.objects.all().delete()
    EarningsRollupState.objects.all().delete()

    run = roll_up_creator_earnings(max_window=timedelta(days=3))

    assert run.entries >= 240
    assert _by_day_kind(bench.account_id) == expected and len(expected) >= 20
    assert EarningsRollupState.objects.get().last_run_entries < 240  # the last of several windows
    gifts = sum(total for (_, kind), total in expected.items() if kind == "gift")
    assert creator_gift_total(creator=bench.creator) == gifts


def test_ledger_rows_carry_their_transactions_start_time(make_user, fund, make_creator):
    """The rollup horizon relies on it: a row written late in a long transaction is still dated
    at that transaction's start, which pg_stat_activity shows while it is open."""
    creator = make_creator()
    viewer = make_user()
    fund(viewer, 100)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT now(), pg_sleep(0.05)")
            started = cursor.fetchone()[0]
        txn_id = _gift(viewer, creator, 5, "dated-gift")
    assert Transaction.objects.get(pk=txn_id).created_at == started
    assert set(Entry.objects.filter(transaction_id=txn_id).values_list("created_at", flat=True)) == {started}
