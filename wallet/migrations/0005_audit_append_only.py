"""The audit log's database rule (wallet/sql/moderation.sql): UPDATE and DELETE are refused."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("wallet", "0004_moderation")]

    operations = [
        migrations.RunSQL(sql=sql_file("moderation.sql"), reverse_sql=sql_file("moderation_reverse.sql")),
    ]
