"""Every creator who was approved (approved or suspended since) has a diamond account: approval
opens it from here on, so existing creators get theirs now."""

from django.db import migrations

SQL = """
INSERT INTO wallet_account (kind, unit, owner_id, posting, allow_negative, balance, frozen, frozen_reason, created_at)
SELECT 'creator_diamonds', 'DIAMOND', c.user_id, 'deferred', false, 0, false, '', now()
  FROM creators_creator c WHERE c.status IN ('approved', 'suspended')
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("creators", "0007_payout_four_eyes"),
        ("wallet", "0014_provisioned_accounts"),
    ]

    operations = [migrations.RunSQL(sql=SQL, reverse_sql=migrations.RunSQL.noop)]
