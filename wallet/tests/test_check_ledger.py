"""check_ledger finds each kind of corruption planted behind the services' back."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction

from wallet import services
from wallet.models import Account, AccountDelta, Entry, LedgerCheck

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(make_user, fund):
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 100)
    services.spend_coins(
        spender=viewer, coins=30, creator_user_id=creator.pk, diamonds=30, kind="gift", idempotency_key="g"
    )
    return viewer, creator


def kinds(run: LedgerCheck) -> set[str]:
    return {p["kind"] for p in run.problems}


def test_a_clean_ledger_reports_no_problems(ledger):
    run = services.run_ledger_check()
    assert run.ok and run.problems == [] and run.transactions_checked == 2
    call_command("check_ledger")


def test_an_unbalanced_transaction_is_found(ledger):
    viewer, _ = ledger
    wallet = services.coin_account(user_id=viewer.pk)
    txn_id = Entry.objects.filter(account=wallet).values_list("transaction_id", flat=True).first()
    with connection.cursor() as cursor:
        # Plant it with triggers off (as a restore or a manual fix-up could).
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at) VALUES (%s, %s, 'COIN', 5, now())",
            [txn_id, wallet.pk],
        )
        cursor.execute("UPDATE wallet_account SET balance = balance + 5 WHERE id = %s", [wallet.pk])
        cursor.execute("SET LOCAL session_replication_role = origin")

    run = services.run_ledger_check()

    assert not run.ok
    assert "unbalanced_transaction" in kinds(run)
    assert any(p["subject"] == str(txn_id) for p in run.problems)


def test_a_stored_balance_off_by_one_is_found(ledger):
    viewer, _ = ledger
    wallet = services.coin_account(user_id=viewer.pk)
    Account.objects.filter(pk=wallet.pk).update(balance=71)

    run = services.run_ledger_check()

    assert kinds(run) >= {"balance_mismatch"}
    assert {
        "kind": "balance_mismatch",
        "subject": str(wallet.pk),
        "found": "71",
        "expected": "70",
    } in run.problems
    with pytest.raises(CommandError):
        call_command("check_ledger")


def test_a_negative_balance_is_found(ledger):
    viewer, _ = ledger
    wallet = services.coin_account(user_id=viewer.pk)
    # The CHECK constraint refuses a negative stored balance; a stray delta gets past it.
    AccountDelta.objects.create(account=wallet, amount=-71)

    run = services.run_ledger_check()

    assert "negative_balance" in kinds(run)


def test_the_check_constraint_refuses_a_negative_stored_balance(ledger):
    viewer, _ = ledger
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(owner=viewer, kind=Account.Kind.USER_COINS).update(balance=-1)


def test_an_entry_changed_behind_the_orms_back_is_refused_by_the_trigger(ledger):
    entry = Entry.objects.first()
    assert entry is not None
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE wallet_entry SET amount = amount + 1 WHERE id = %s", [entry.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM wallet_entry WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=999)
    assert services.run_ledger_check().ok


def test_a_unit_that_does_not_net_to_zero_is_found(ledger):
    issuance = services.system_account_id(Account.Kind.COIN_ISSUANCE, "COIN")
    AccountDelta.objects.create(account_id=issuance, amount=1)

    run = services.run_ledger_check()

    assert {"balance_mismatch", "units_do_not_net_to_zero"} <= kinds(run)
