"""Bulk data for the payout benchmark and drills: `n` creators a payout batch will take.

Each is an approved creator with a verified `local` payout account (`local-<creator id>`)
and a diamond balance credited by one ledger transaction (kind `adjustment`, from diamond
issuance), all written with a few set-based statements in one database transaction, so
10,000 creators take seconds and `run_ledger_check()` stays clean.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from creators.models import Creator, PayoutAccount
from wallet.models import Account, Unit, User
from wallet.services import open_coin_accounts, system_account_id

# Diamonds each creator gets by default: 2,001 at 500 millicents is $10.00 and one diamond left over.
DEFAULT_DIAMONDS = 2_001

_CREDIT_SQL = """
CREATE TEMP TABLE bench_payout_credit ON COMMIT DROP AS
SELECT a.id AS account_id, a.owner_id, a.balance AS diamonds,
       nextval(pg_get_serial_sequence('wallet_transaction', 'id')) AS transaction_id
  FROM wallet_account a WHERE a.id = ANY(%(accounts)s::bigint[]);

INSERT INTO wallet_transaction (id, kind, idempotency_key, fingerprint, reference, memo, created_at)
SELECT transaction_id, 'adjustment', 'bench-payout-' || %(tag)s || '-' || account_id, 'bench', '',
       'Benchmark diamonds', %(now)s
  FROM bench_payout_credit ORDER BY transaction_id;

INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at)
SELECT c.transaction_id, l.account_id, 'DIAMOND', l.amount, %(now)s
  FROM bench_payout_credit c
 CROSS JOIN LATERAL (VALUES (%(issuance)s::bigint, -c.diamonds), (c.account_id, c.diamonds)) AS l(account_id, amount)
 ORDER BY c.transaction_id;

UPDATE wallet_account SET balance = balance - (SELECT sum(diamonds) FROM bench_payout_credit)
 WHERE id = %(issuance)s;
"""


@dataclass(frozen=True)
class EligibleCreators:
    tag: str
    creators: list[Creator]
    destinations: list[str]
    diamonds_each: list[int]

    @property
    def total_diamonds(self) -> int:
        return sum(self.diamonds_each)


def make_eligible_creators(
    n: int, *, diamonds: int | list[int] = DEFAULT_DIAMONDS, tag: str | None = None
) -> EligibleCreators:
    """`n` approved creators with verified local payout accounts, holding `diamonds` each (or
    `diamonds[i]`). Whether they are eligible still depends on MINIMUM_PAYOUT_CENTS."""
    if n < 1:
        raise ValueError("n must be positive")
    amounts = diamonds if isinstance(diamonds, list) else [diamonds] * n
    if len(amounts) != n or any(d <= 0 for d in amounts):
        raise ValueError("give one positive amount of diamonds per creator")
    tag = tag or uuid.uuid4().hex[:10]
    now = timezone.now()
    adult = datetime.date(1990, 1, 1)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(
                    email=f"payee-{tag}-{i}@bench.local",
                    password="!",  # unusable: these creators never log in
                    display_name=f"Payee {i}",
                    date_of_birth=adult,
                    role=User.Role.CREATOR,
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        # Made in bulk (no User.save, no approval): their coin wallets here, their diamond
        # accounts (holding the diamonds) below.
        open_coin_accounts(user_ids=[u.pk for u in users])
        creators = Creator.objects.bulk_create(
            [
                Creator(
                    user=user,
                    handle=f"payee-{tag}-{i}",
                    display_name=f"Payee {i}",
                    status=Creator.Status.APPROVED,
                    decided_at=now,
                )
                for i, user in enumerate(users)
            ],
            batch_size=2000,
        )
        accounts = Account.objects.bulk_create(
            [
                Account(
                    kind=Account.Kind.CREATOR_DIAMONDS,
                    unit=Unit.DIAMOND,
                    owner=user,
                    posting=Account.Posting.DEFERRED,
                    balance=amount,
                )
                for user, amount in zip(users, amounts, strict=True)
            ],
            batch_size=2000,
        )
        destinations = [f"local-{creator.pk}" for creator in creators]
        PayoutAccount.objects.bulk_create(
            [
                PayoutAccount(
                    creator=creator,
                    provider=PayoutAccount.Provider.LOCAL,
                    destination=destination,
                    status=PayoutAccount.Status.VERIFIED,
                    status_reason="Benchmark data.",
                    verified_at=now,
                )
                for creator, destination in zip(creators, destinations, strict=True)
            ],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                _CREDIT_SQL,
                {
                    "accounts": [a.pk for a in accounts],
                    "tag": tag,
                    "now": now,
                    "issuance": system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND),
                },
            )
    return EligibleCreators(tag=tag, creators=creators, destinations=destinations, diamonds_each=amounts)
