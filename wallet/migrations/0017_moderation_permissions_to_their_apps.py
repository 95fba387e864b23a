"""The staff permissions over other apps' objects move from wallet's AuditEntry to the models they
act on (declared there by creators 0010 and gifts 0004). The permission rows themselves move, so
every group and user that held one keeps it; where the new row exists already, the grants are
copied to it and the old row goes."""

from django.conf import settings
from django.db import migrations

# codename: the model that now declares it.
MOVED = {
    "review_creator": ("creators", "creator"),
    "suspend_creator": ("creators", "creator"),
    "hide_content": ("creators", "creator"),
    "cancel_order": ("creators", "order"),
    "ship_order": ("creators", "order"),
    "end_live_session": ("gifts", "livesession"),
}
AUDIT_ENTRY = ("wallet", "auditentry")


def _move(apps, schema_editor, *, to_owners):
    using = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    GroupPermission = apps.get_model("auth", "Group").permissions.through
    UserPermission = apps.get_model(settings.AUTH_USER_MODEL).user_permissions.through

    def content_type(app_label, model):
        return ContentType.objects.using(using).get_or_create(app_label=app_label, model=model)[0]

    audit_entry = content_type(*AUDIT_ENTRY)
    for codename, owner in MOVED.items():
        source, target = audit_entry, content_type(*owner)
        if not to_owners:
            source, target = target, source
        permissions = Permission.objects.using(using)
        old = permissions.filter(content_type=source, codename=codename).first()
        if old is None:
            continue  # nobody holds it; post_migrate creates the declared one
        new = permissions.filter(content_type=target, codename=codename).first()
        if new is None:
            old.content_type = target
            old.save(update_fields=["content_type"])
            continue
        for through, holder in ((GroupPermission, "group_id"), (UserPermission, "user_id")):
            holders = through.objects.using(using).filter(permission_id=old.pk).values_list(holder, flat=True)
            through.objects.using(using).bulk_create(
                [through(**{holder: pk, "permission_id": new.pk}) for pk in holders], ignore_conflicts=True
            )
        old.delete()


def move_to_owners(apps, schema_editor):
    _move(apps, schema_editor, to_owners=True)


def move_back_to_audit_entry(apps, schema_editor):
    _move(apps, schema_editor, to_owners=False)


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0016_idempotent_request"),
        ("creators", "0011_staff_permissions"),
        ("gifts", "0004_end_live_session_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={"ordering": ["-created_at", "-id"], "verbose_name_plural": "audit entries"},
        ),
        migrations.RunPython(move_to_owners, move_back_to_audit_entry),
    ]
