"""The database rule: entries that do not balance are refused, whoever writes them."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from wallet import services
from wallet.models import Transaction

pytestmark = pytest.mark.django_db(transaction=True)


def test_unbalanced_entries_written_directly_are_refused(make_user, fund):
    viewer = make_user()
    fund(viewer, 10)
    wallet = services.coin_account(user_id=viewer.pk)
    txn = Transaction.objects.first()
    assert txn is not None

    with pytest.raises(DatabaseError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at) VALUES (%s, %s, 'COIN', 3, now())",
                [txn.pk, wallet.pk],
            )

    assert services.run_ledger_check().ok
