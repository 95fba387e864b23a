"""The Moderator and Finance groups come from a data migration with least privilege, and are
recreated after a flush (post_migrate)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from wallet.moderation.groups import FINANCE, MODERATOR, sync_after_migrate

pytestmark = pytest.mark.django_db

MODERATOR_ONLY = {
    "wallet.freeze_wallet",
    "wallet.handle_report",
    "wallet.hide_content",
    "wallet.suspend_creator",
    "wallet.end_live_session",
    "wallet.review_creator",
}
FINANCE_ONLY = {
    "wallet.refund_purchase",
    "wallet.adjust_balance",
    "wallet.approve_adjustment",
    "wallet.resolve_reconciliation_issue",
    "wallet.cancel_order",
}


def test_moderators_moderate_and_finance_moves_money_and_neither_does_both(moderator, finance):
    assert moderator.has_perms(MODERATOR_ONLY)
    assert not any(moderator.has_perm(p) for p in FINANCE_ONLY)
    assert finance.has_perms(FINANCE_ONLY)
    assert not any(finance.has_perm(p) for p in MODERATOR_ONLY)


def test_no_group_may_add_change_or_delete_ledger_rows():
    for group in Group.objects.filter(name__in=[MODERATOR, FINANCE]):
        codenames = set(group.permissions.values_list("codename", flat=True))
        for model in ("transaction", "entry", "account", "accountdelta", "auditentry"):
            assert not {f"add_{model}", f"change_{model}", f"delete_{model}"} & codenames, (group, model)
        assert not any(codename.startswith("delete_") for codename in codenames), group


def test_the_groups_come_back_after_a_flush_empties_them():
    Group.objects.filter(name__in=[MODERATOR, FINANCE]).delete()
    sync_after_migrate()
    moderators = Group.objects.get(name=MODERATOR)
    assert moderators.permissions.filter(codename="freeze_wallet").exists()
    assert Group.objects.get(name=FINANCE).permissions.filter(codename="approve_adjustment").exists()
