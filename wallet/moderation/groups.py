"""The least-privilege staff groups: Moderator (content, reports, freezes), Finance (refunds,
requesting adjustments, reconciliation, cancelling orders), Finance approver (approving
adjustments, running and approving payout batches) and Payout verifier (verifying creators'
payout accounts). No group holds a whole money chain (request -> approve -> verify -> pay), so
minting diamonds for a partner and cashing them out takes three people.

wallet names the groups and grants its own permissions here. Each other app grants its own
permissions to these groups at start-up (`register_group_permissions`, from its
`AppConfig.ready`), as `admin.site.register` does, and registers the steps of the money chain
that it owns (`register_money_chain_step`).

Created by a data migration and kept exactly in step after every migrate (post_migrate: a
permission added or removed by hand is put back as listed and registered, so change the code
rather than the groups)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import connections
from django.db.models import Q

MODERATOR = "Moderator"
FINANCE = "Finance"
FINANCE_APPROVER = "Finance approver"
PAYOUT_VERIFIER = "Payout verifier"

# The steps of the money chain that wallet owns; the others are registered by their apps.
REQUEST_ADJUSTMENT = "wallet.adjust_balance"
APPROVE_ADJUSTMENT = "wallet.approve_adjustment"
# Every step of the money chain, in order: no default group may hold them all.
MONEY_CHAIN: list[str] = [REQUEST_ADJUSTMENT, APPROVE_ADJUSTMENT]

# Each group's permissions as "app_label.codename": wallet's own here, the other apps' added by
# register_group_permissions.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    MODERATOR: [
        "wallet.view_user",
        "wallet.view_account",
        "wallet.freeze_wallet",
        "wallet.view_report",
        "wallet.handle_report",
        "wallet.view_auditentry",
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
    ],
    FINANCE_APPROVER: [
        "wallet.view_user",
        "wallet.view_account",
        "wallet.view_transaction",
        "wallet.view_entry",
        "wallet.view_adjustmentrequest",
        APPROVE_ADJUSTMENT,
        "wallet.view_auditentry",
    ],
    PAYOUT_VERIFIER: [
        "wallet.view_user",
        "wallet.view_auditentry",
    ],
}


def register_group_permissions(group_name: str, labels: Iterable[str]) -> None:
    """Grant `labels` ("app_label.codename") to the default group `group_name` from now on: the
    groups are brought in step after the next migrate (or at once with sync_after_migrate)."""
    if group_name not in GROUP_PERMISSIONS:
        raise ValueError(f"{group_name!r} is not a default staff group: {sorted(GROUP_PERMISSIONS)}")
    granted = GROUP_PERMISSIONS[group_name]
    for label in labels:
        _check_label(label)
        if label not in granted:
            granted.append(label)


def register_money_chain_step(label: str) -> None:
    """Add a step ("app_label.codename") to the end of the money chain that no default group may
    hold whole."""
    _check_label(label)
    if label not in MONEY_CHAIN:
        MONEY_CHAIN.append(label)


def _check_label(label: str) -> None:
    app_label, _, codename = label.partition(".")
    if not app_label or not codename:
        raise ValueError(f"A permission is named 'app_label.codename', not {label!r}.")


def sync_after_migrate(*, apps: Any = global_apps, using: str = "default", **signal: Any) -> None:
    """post_migrate: grant permissions added since (a new model's, or one an app registered),
    take back what is no longer listed, and recreate the groups after a test harness's flush
    emptied auth_group."""
    if "wallet_auditentry" not in connections[using].introspection.table_names():
        return  # migrated back before the moderation migrations: no groups
    from django.contrib.auth.models import Group, Permission

    wallet_permissions = Permission.objects.using(using).filter(content_type__app_label="wallet")
    if not wallet_permissions.filter(codename="refund_purchase").exists():
        # The refund permission was renamed: whoever held it keeps it.
        wallet_permissions.filter(codename="refund_coinpurchase").update(codename="refund_purchase")
    # post_migrate creates each app's permissions when it reaches that app (the apps after wallet
    # only after this receiver); the groups need them now.
    for config in global_apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using, apps=apps)
    for name, labels in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = Q(pk__in=[])
        for label in labels:
            app_label, codename = label.split(".", 1)
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        granted = Permission.objects.using(using).filter(wanted)
        group.permissions.add(*granted)
        # Exactly as listed: what an earlier version granted (Finance approving) is taken back.
        group.permissions.remove(*group.permissions.exclude(pk__in=granted.values("pk")))
