"""The ledger's database rules again (wallet/sql/ledger.sql, which is idempotent): the posting
function reads the legs once, writes all deferred credits in one statement and keeps one
generic plan per statement; the balance trigger reads only the rows its statement inserted."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("wallet", "0007_deferred_escrow_and_payouts_in_flight")]

    operations = [migrations.RunSQL(sql=(SQL_DIR / "ledger.sql").read_text(), reverse_sql=migrations.RunSQL.noop)]
