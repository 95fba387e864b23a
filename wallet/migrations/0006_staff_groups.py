"""The Moderator and Finance staff groups with least privilege (wallet/moderation/groups.py)."""

from django.db import migrations

from wallet.moderation.groups import ensure_staff_groups, remove_staff_groups


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0005_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("creators", "0004_premium_merch_earnings"),
        ("gifts", "0002_giftsend_alter_livesession_goal_gift_and_more"),
    ]

    operations = [migrations.RunPython(ensure_staff_groups, remove_staff_groups)]
