"""The default staff groups come from a data migration with least privilege, are kept exactly as
`wallet.moderation.groups` lists them with what creators and gifts register, and are recreated
after a flush (post_migrate)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from creators.permissions import APPROVE_PAYOUT_BATCH as PAY_OUT
from creators.permissions import VERIFY_PAYOUT_ACCOUNT
from wallet.moderation.groups import (
    APPROVE_ADJUSTMENT,
    FINANCE,
    FINANCE_APPROVER,
    GROUP_PERMISSIONS,
    MODERATOR,
    MONEY_CHAIN,
    PAYOUT_VERIFIER,
    REQUEST_ADJUSTMENT,
    register_group_permissions,
    sync_after_migrate,
)

pytestmark = pytest.mark.django_db

MODERATOR_ONLY = {
    "wallet.freeze_wallet",
    "wallet.handle_report",
    "creators.hide_content",
    "creators.suspend_creator",
    "gifts.end_live_session",
    "creators.review_creator",
}
FINANCE_ONLY = {
    "wallet.refund_purchase",
    "wallet.adjust_balance",
    "wallet.resolve_reconciliation_issue",
    "creators.cancel_order",
}
# Pairs that four eyes keep apart: one group holding both would let one person do both steps.
SEPARATED = [(REQUEST_ADJUSTMENT, APPROVE_ADJUSTMENT), (VERIFY_PAYOUT_ACCOUNT, PAY_OUT)]


def _held(group: Group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_moderators_moderate_and_finance_moves_money_and_neither_does_both(moderator, finance):
    assert moderator.has_perms(MODERATOR_ONLY)
    assert not any(moderator.has_perm(p) for p in FINANCE_ONLY)
    assert finance.has_perms(FINANCE_ONLY)
    assert not any(finance.has_perm(p) for p in MODERATOR_ONLY)


def test_the_money_chain_is_request_approve_verify_pay_with_the_steps_creators_registered():
    assert MONEY_CHAIN == [REQUEST_ADJUSTMENT, APPROVE_ADJUSTMENT, VERIFY_PAYOUT_ACCOUNT, PAY_OUT]


def test_every_money_chain_permission_exists_and_is_held_by_some_default_group():
    for label in MONEY_CHAIN:
        app_label, codename = label.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), label
        assert any(label in _held(group) for group in Group.objects.filter(name__in=GROUP_PERMISSIONS)), label


def test_no_default_group_holds_the_whole_chain_request_approve_verify_pay_nor_both_sides_of_a_check():
    groups = list(Group.objects.filter(name__in=GROUP_PERMISSIONS))
    assert {g.name for g in groups} == {MODERATOR, FINANCE, FINANCE_APPROVER, PAYOUT_VERIFIER}
    for group in groups:
        held = _held(group)
        assert not set(MONEY_CHAIN) <= held, group
        for first, second in SEPARATED:
            assert not {first, second} <= held, (group, first, second)


def test_finance_reads_the_chargeback_loss_detail_and_changes_none_of_it(finance):
    assert finance.has_perms(["wallet.view_earningsreversal", "wallet.view_earningshold"])
    for model in ("earningsreversal", "earningshold"):
        assert not any(finance.has_perm(f"wallet.{action}_{model}") for action in ("add", "change", "delete"))


def test_a_permission_granted_to_a_group_by_hand_is_taken_back_after_migrate():
    finance = Group.objects.get(name=FINANCE)
    finance.permissions.add(Permission.objects.get(codename="approve_adjustment"))
    finance.permissions.add(Permission.objects.get(codename="approve_payoutbatch"))
    sync_after_migrate()
    assert not {APPROVE_ADJUSTMENT, PAY_OUT} & _held(finance)
    assert REQUEST_ADJUSTMENT in _held(finance)


def test_no_group_may_add_change_or_delete_ledger_rows():
    for group in Group.objects.filter(name__in=GROUP_PERMISSIONS):
        codenames = set(group.permissions.values_list("codename", flat=True))
        for model in (
            "transaction",
            "entry",
            "account",
            "accountdelta",
            "auditentry",
            "earningsreversal",
            "earningshold",
        ):
            assert not {f"add_{model}", f"change_{model}", f"delete_{model}"} & codenames, (group, model)
        assert not any(codename.startswith("delete_") for codename in codenames), group


def test_the_groups_come_back_after_a_flush_empties_them():
    Group.objects.filter(name__in=GROUP_PERMISSIONS).delete()
    sync_after_migrate()
    moderators = Group.objects.get(name=MODERATOR)
    assert moderators.permissions.filter(codename="freeze_wallet").exists()
    assert Group.objects.get(name=FINANCE_APPROVER).permissions.filter(codename="approve_adjustment").exists()
    assert (
        Group.objects.get(name=PAYOUT_VERIFIER).permissions.filter(codename="verify_payoutaccount").exists()
    )


def test_the_grants_creators_and_gifts_register_reach_the_groups(moderator, finance):
    assert moderator.has_perms(["creators.view_merchitem", "gifts.view_livesession"])
    assert finance.has_perms(["creators.view_payoutbatch", "creators.view_payout", "gifts.view_giftsend"])
    assert {label.split(".")[0] for labels in GROUP_PERMISSIONS.values() for label in labels} == {
        "wallet",
        "creators",
        "gifts",
    }


def test_only_a_default_group_and_a_named_permission_can_be_registered():
    with pytest.raises(ValueError, match="not a default staff group"):
        register_group_permissions("Everyone", ["wallet.freeze_wallet"])
    with pytest.raises(ValueError, match="app_label.codename"):
        register_group_permissions(MODERATOR, ["freeze_wallet"])
