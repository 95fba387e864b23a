"""The Moderator, Finance, Finance approver and Payout verifier staff groups with least
privilege, as they were first created. The permissions are named as they were then (the
moderation permissions on wallet's AuditEntry; 0017 hands them to the apps that own the
objects); after every migrate the groups are brought in step with wallet/moderation/groups.py
and what the other apps register there."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

MODERATOR = "Moderator"
FINANCE = "Finance"
FINANCE_APPROVER = "Finance approver"
PAYOUT_VERIFIER = "Payout verifier"

# The permissions of the money chains: no default group may hold every step of one.
REQUEST_ADJUSTMENT = "wallet.adjust_balance"
APPROVE_ADJUSTMENT = "wallet.approve_adjustment"
VERIFY_PAYOUT_ACCOUNT = "creators.verify_payoutaccount"
PAY_OUT = "creators.approve_payoutbatch"
MONEY_CHAIN = (REQUEST_ADJUSTMENT, APPROVE_ADJUSTMENT, VERIFY_PAYOUT_ACCOUNT, PAY_OUT)

GROUP_PERMISSIONS: dict[str, list[str]] = {
    MODERATOR: [
        "wallet.view_user",
        "wallet.view_account",
        "wallet.freeze_wallet",
        "wallet.view_report",
        "wallet.handle_report",
        "wallet.view_auditentry",
        "wallet.review_creator",
        "wallet.suspend_creator",
        "wallet.hide_content",
        "wallet.end_live_session",
        "creators.view_creator",
        "creators.view_post",
        "creators.view_merchitem",
        "gifts.view_gift",
        "gifts.view_livesession",
        "gifts.view_giftsend",
    ],
    FINANCE: [
        "wallet.view_user",
        "wallet.view_account",
        "wallet.view_transaction",
        "wallet.view_entry",
        "wallet.view_accountdelta",
        "wallet.view_ledgercheck",
        "wallet.view_dailyspend",
        "wallet.view_coinpackage",
        "wallet.view_coinpurchase",
        "wallet.refund_purchase",
        "wallet.view_purchaserefund",
        "wallet.view_purchasedispute",
        "wallet.view_coinreceivable",
        # The chargeback loss report's detail (read-only in admin).
        "wallet.view_earningsreversal",
        "wallet.view_earningshold",
        "wallet.view_webhookevent",
        "wallet.change_webhookevent",
        "wallet.view_reconciliationrun",
        "wallet.view_reconciliationissue",
        "wallet.resolve_reconciliation_issue",
        "wallet.view_adjustmentrequest",
        REQUEST_ADJUSTMENT,
        "wallet.view_auditentry",
        "wallet.cancel_order",
        "wallet.ship_order",
        "creators.view_creator",
        "creators.view_order",
        "creators.view_merchitem",
        "creators.view_unlock",
        "creators.view_creatorearningsday",
        "creators.view_creatorsupporter",
        "gifts.view_giftsend",
    ],
    FINANCE_APPROVER: [
        "wallet.view_user",
        "wallet.view_account",
        "wallet.view_transaction",
        "wallet.view_entry",
        "wallet.view_adjustmentrequest",
        APPROVE_ADJUSTMENT,
        "wallet.view_auditentry",
        "creators.view_creator",
        PAY_OUT,
    ],
    PAYOUT_VERIFIER: [
        "wallet.view_user",
        "wallet.view_auditentry",
        "creators.view_creator",
        VERIFY_PAYOUT_ACCOUNT,
    ],
}

# The finance groups also see the creators app's payout models, whatever they are named
# (PayoutBatch, Payout, PayoutAccount, ...), once they exist.
PAYOUT_MODELS = ("creators", "payout")
PAYOUT_VIEWERS = (FINANCE, FINANCE_APPROVER, PAYOUT_VERIFIER)


def create_staff_groups(apps, schema_editor):
    """Create the groups and grant what exists of their permissions."""
    using = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    wallet_permissions = Permission.objects.using(using).filter(content_type__app_label="wallet")
    if not wallet_permissions.filter(codename="refund_purchase").exists():
        # The refund permission was renamed: whoever held it keeps it.
        wallet_permissions.filter(codename="refund_coinpurchase").update(codename="refund_purchase")
    # Permissions are normally created after migrate (post_migrate); the groups need them now.
    for config in global_apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using, apps=apps)
    for name, labels in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = Q(pk__in=[])
        for label in labels:
            app_label, codename = label.split(".", 1)
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        if name in PAYOUT_VIEWERS:
            app_label, prefix = PAYOUT_MODELS
            wanted |= Q(
                content_type__app_label=app_label,
                content_type__model__startswith=prefix,
                codename__startswith="view_",
            )
        granted = Permission.objects.using(using).filter(wanted)
        group.permissions.add(*granted)
        # Exactly as listed: what an earlier version granted (Finance approving) is taken back.
        group.permissions.remove(*group.permissions.exclude(pk__in=granted.values("pk")))


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
