"""The Moderator and Finance staff groups with least privilege (wallet/moderation/groups.py)."""

from django.db import migrations

from wallet.moderation.groups import GROUP_PERMISSIONS, ensure_staff_groups


def create_staff_groups(apps, schema_editor):
    ensure_staff_groups(
        permission_model=apps.get_model("auth", "Permission"),
        group_model=apps.get_model("auth", "Group"),
        apps=apps,
        using=schema_editor.connection.alias,
    )


def remove_staff_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name__in=list(GROUP_PERMISSIONS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0005_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("creators", "0004_premium_merch_earnings"),
        ("gifts", "0002_giftsend_alter_livesession_goal_gift_and_more"),
    ]

    operations = [migrations.RunPython(create_staff_groups, remove_staff_groups)]
