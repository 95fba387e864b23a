"""The creators app's staff permissions ("app_label.codename", declared on the models they act
on) and its share of the default staff groups, registered with wallet at start-up
(`register_staff_grants`, from `CreatorsConfig.ready`)."""

from __future__ import annotations

from wallet.moderation import groups

REVIEW_CREATOR = "creators.review_creator"
SUSPEND_CREATOR = "creators.suspend_creator"
HIDE_CONTENT = "creators.hide_content"  # posts and merch items
CANCEL_ORDER = "creators.cancel_order"
SHIP_ORDER = "creators.ship_order"
# Steps of the money chain (request -> approve -> verify -> pay) that no default group holds whole.
VERIFY_PAYOUT_ACCOUNT = "creators.verify_payoutaccount"
APPROVE_PAYOUT_BATCH = "creators.approve_payoutbatch"

VIEW_PAYOUTS = ("creators.view_payoutaccount", "creators.view_payoutbatch", "creators.view_payout")


def register_staff_grants() -> None:
    groups.register_group_permissions(
        groups.MODERATOR,
        [
            REVIEW_CREATOR,
            SUSPEND_CREATOR,
            HIDE_CONTENT,
            "creators.view_creator",
            "creators.view_post",
            "creators.view_merchitem",
        ],
    )
    groups.register_group_permissions(
        groups.FINANCE,
        [
            CANCEL_ORDER,
            SHIP_ORDER,
            "creators.view_creator",
            "creators.view_order",
            "creators.view_merchitem",
            "creators.view_unlock",
            "creators.view_creatorearningsday",
            "creators.view_creatorsupporter",
            *VIEW_PAYOUTS,
        ],
    )
    groups.register_group_permissions(
        groups.FINANCE_APPROVER, ["creators.view_creator", APPROVE_PAYOUT_BATCH, *VIEW_PAYOUTS]
    )
    groups.register_group_permissions(
        groups.PAYOUT_VERIFIER, ["creators.view_creator", VERIFY_PAYOUT_ACCOUNT, *VIEW_PAYOUTS]
    )
    groups.register_money_chain_step(VERIFY_PAYOUT_ACCOUNT)
    groups.register_money_chain_step(APPROVE_PAYOUT_BATCH)
