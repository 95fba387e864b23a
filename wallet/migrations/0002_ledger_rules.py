"""The ledger's database rules (wallet/sql/ledger.sql): append-only entries, entries that
balance per statement, and the one-round-trip posting function."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]

    operations = [
        migrations.RunSQL(sql=sql_file("ledger.sql"), reverse_sql=sql_file("ledger_reverse.sql")),
    ]
