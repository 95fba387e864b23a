"""Accounts are provisioned instead of created by their first lookup: every system account, and
the coin wallet of every existing user, exist from here on (creators' diamond accounts: the
creators app's migration). Adds the SQL functions of wallet/sql/accounts.sql:
`wallet_account_id(kind, unit, owner)`, which the posting statement uses to name accounts by key;
`wallet_balance(account)`, the one definition of an exact balance (settled balance plus pending
deltas); and the reads other apps' SQL makes of wallet tables, `wallet_creator_entries(account,
from, until)`, `wallet_creator_accounts()` and `wallet_display_name(user)`."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# The system accounts as of this migration: (kind, unit, posting, allow_negative).
SYSTEM_ACCOUNTS = [
    ("coin_issuance", "COIN", "deferred", True),
    ("coin_spent", "COIN", "deferred", True),
    ("platform_revenue", "COIN", "deferred", True),
    ("receivable", "COIN", "strict", True),
    ("adjustments", "COIN", "deferred", True),
    ("diamond_issuance", "DIAMOND", "deferred", True),
    ("payouts_in_flight", "DIAMOND", "deferred", True),
    ("paid_out", "DIAMOND", "deferred", True),
    ("adjustments", "DIAMOND", "deferred", True),
    ("escrow", "DIAMOND", "deferred", True),
]

PROVISION_SQL = (
    """
INSERT INTO wallet_account (kind, unit, owner_id, posting, allow_negative, balance, frozen, frozen_reason, created_at)
SELECT kind, unit, NULL, posting, allow_negative, 0, false, '', now()
  FROM (VALUES """
    + ", ".join(f"('{k}', '{u}', '{p}', {str(n).lower()})" for k, u, p, n in SYSTEM_ACCOUNTS)
    + """) AS s(kind, unit, posting, allow_negative)
ON CONFLICT DO NOTHING;

INSERT INTO wallet_account (kind, unit, owner_id, posting, allow_negative, balance, frozen, frozen_reason, created_at)
SELECT 'user_coins', 'COIN', u.id, 'strict', false, 0, false, '', now() FROM wallet_user u
ON CONFLICT DO NOTHING;
"""
)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0013_earnings_reversals_undone_by_refund_failures")]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "accounts.sql").read_text(),
            reverse_sql=(SQL_DIR / "accounts_reverse.sql").read_text(),
        ),
        migrations.RunSQL(sql=PROVISION_SQL, reverse_sql=migrations.RunSQL.noop),
    ]
