"""Audit and report rows written before name users by their email (in target_repr, through the
user's old str()); replace every stored email address with that user's public label, as
User.__str__ now writes it. The audit log's append-only trigger is lifted for this one
statement and put back in the same transaction."""

import re

from django.db import migrations

EMAIL = re.compile(r"[^\s@()]+@[^\s@()]+\.[^\s@()]+")
UNKNOWN = "a former user"


def _label(user) -> str:
    return f"{user.display_name} (#{user.pk})" if user.display_name else f"viewer-{user.pk}"


def replace_stored_emails(apps, schema_editor) -> None:
    User = apps.get_model("wallet", "User")
    rows = [
        (model, row)
        for model in (apps.get_model("wallet", "AuditEntry"), apps.get_model("wallet", "Report"))
        for row in model.objects.filter(target_repr__contains="@").only("pk", "target_repr")
    ]
    found = {email for _, row in rows for email in EMAIL.findall(row.target_repr)}
    labels = {user.email.lower(): _label(user) for user in User.objects.filter(email__in=found)}
    with schema_editor.connection.cursor() as cursor:
        # ALTER TABLE refuses while deferred checks of this transaction are still pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE wallet_auditentry DISABLE TRIGGER wallet_auditentry_append_only")
        for model, row in rows:
            cleaned = EMAIL.sub(lambda m: labels.get(m.group(0).lower(), UNKNOWN), row.target_repr)[:255]
            model.objects.filter(pk=row.pk).update(target_repr=cleaned)
        cursor.execute("ALTER TABLE wallet_auditentry ENABLE TRIGGER wallet_auditentry_append_only")


class Migration(migrations.Migration):
    dependencies = [("wallet", "0010_ship_order_permission")]

    operations = [migrations.RunPython(replace_stored_emails, migrations.RunPython.noop)]
