"""A live session's creator cannot be changed (gifts/sql/live_session_creator_fixed.sql)."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("gifts", "0002_giftsend_alter_livesession_goal_gift_and_more")]

    operations = [
        migrations.RunSQL(
            sql=sql_file("live_session_creator_fixed.sql"),
            reverse_sql=sql_file("live_session_creator_fixed_reverse.sql"),
        ),
    ]
