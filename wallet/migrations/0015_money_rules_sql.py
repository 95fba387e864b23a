"""Money rules in SQL (wallet/sql/money.sql): diamonds to cents and back, what counts as
earnings (`wallet_earnings_credit`), and each creator diamond account's balance, held
diamonds and frozen flag as of a cut-off (`wallet_creator_earnings`), which other apps' SQL
calls instead of reading wallet tables."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("wallet", "0014_provisioned_accounts")]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "money.sql").read_text(), reverse_sql=(SQL_DIR / "money_reverse.sql").read_text()
        )
    ]
