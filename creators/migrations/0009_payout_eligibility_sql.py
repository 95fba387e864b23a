"""Payout eligibility in SQL (creators/sql/payouts.sql): `creators_payout_candidates`, which
the batch plans from and the studio shows; it reads wallet's balances through
`wallet_creator_earnings`."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("creators", "0007_payout_four_eyes"),
        ("wallet", "0017_money_rules_sql"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "payouts.sql").read_text(), reverse_sql=(SQL_DIR / "payouts_reverse.sql").read_text()
        )
    ]
