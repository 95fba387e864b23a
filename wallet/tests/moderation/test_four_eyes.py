"""Four eyes on balance adjustments that cannot be split: the approval threshold counts what one
staff member applied to one account in a day (the new request included), nobody adjusts or
approves an adjustment of their own wallet or creator balance, and two concurrent requests
cannot both slip under the threshold."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from tests.concurrency import run_concurrently
from wallet import errors, services
from wallet.models import Account, AdjustmentRequest, AuditEntry, Transaction, User
from wallet.moderation import adjustments
from wallet.moderation.groups import FINANCE
from wallet.selectors import coin_balance, diamond_balance
from wallet.services import run_ledger_check
from wallet.tests.moderation.conftest import adjust_balance, logged_in, page_text, run_action

ACCOUNTS = "/admin/wallet/account/"
REQUESTS = "/admin/wallet/adjustmentrequest/"
THRESHOLD = 10_000


@pytest.fixture(autouse=True)
def _threshold(settings: Any) -> None:
    settings.ADJUSTMENT_APPROVAL_THRESHOLD_COINS = THRESHOLD


def _diamonds_of(user: User) -> Account:
    return Account.objects.get(owner=user, kind=Account.Kind.CREATOR_DIAMONDS)


@pytest.mark.django_db
def test_one_finance_member_splitting_a_million_diamonds_into_small_adjustments_gets_only_the_threshold_applied(
    finance, creator
):
    partner = _diamonds_of(creator.user)
    admin = logged_in(finance)

    for _ in range(100):
        adjust_balance(admin, partner, THRESHOLD)

    assert diamond_balance(user_id=creator.user_id) == THRESHOLD
    requests = AdjustmentRequest.objects.filter(account=partner)
    assert requests.filter(status=AdjustmentRequest.Status.APPLIED).count() == 1
    assert requests.filter(status=AdjustmentRequest.Status.PENDING).count() == 99
    assert Transaction.objects.filter(kind=Transaction.Kind.ADJUSTMENT).count() == 1
    assert run_ledger_check().ok


@pytest.mark.django_db
def test_the_days_sum_counts_debits_and_credits_and_only_what_that_staff_member_applied_alone(
    finance, finance2, approver, creator
):
    partner = _diamonds_of(creator.user)
    first = adjustments.request_adjustment(
        account_id=partner.pk, amount=6_000, reason="Missed gifts", requested_by=finance
    )
    assert first.status == AdjustmentRequest.Status.APPLIED
    # 6,000 + |-5,000| is above the threshold: it waits, although each request alone is small.
    second = adjustments.request_adjustment(
        account_id=partner.pk, amount=-5_000, reason="Double credit", requested_by=finance
    )
    assert second.status == AdjustmentRequest.Status.PENDING
    assert "counting what you applied to this account today" in page_text(
        adjust_balance(logged_in(finance), partner, 4_001)
    )
    # Another staff member's own day on this account starts from zero.
    other = adjustments.request_adjustment(
        account_id=partner.pk, amount=4_000, reason="Goodwill", requested_by=finance2
    )
    assert other.status == AdjustmentRequest.Status.APPLIED
    # What a second person approved is not counted against the requester's own allowance.
    adjustments.approve_adjustment(request_id=second.pk, staff=approver, note="Checked the ticket")
    fits = adjustments.request_adjustment(
        account_id=partner.pk, amount=4_000, reason="Late bonus", requested_by=finance
    )
    assert fits.status == AdjustmentRequest.Status.APPLIED
    assert diamond_balance(user_id=creator.user_id) == 6_000 - 5_000 + 4_000 + 4_000
    assert run_ledger_check().ok


@pytest.mark.django_db
def test_a_staff_member_cannot_adjust_their_own_wallet_or_creator_balance(make_creator, fund):
    creator = make_creator(is_staff=True)
    creator.user.groups.add(Group.objects.get(name=FINANCE))
    insider = User.objects.get(pk=creator.user_id)
    fund(insider, 50)
    admin = logged_in(insider)

    own_diamonds = adjust_balance(admin, _diamonds_of(insider), 500)
    own_coins = adjust_balance(
        admin, Account.objects.get(pk=services.coin_account(user_id=insider.pk).pk), 500
    )

    assert diamond_balance(user_id=insider.pk) == 0 and coin_balance(user_id=insider.pk) == 50
    assert not AdjustmentRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="adjustment.").exists()
    assert errors.ADJUSTMENT_OWN_ACCOUNT in page_text(own_diamonds)
    assert errors.ADJUSTMENT_OWN_ACCOUNT in page_text(own_coins)
    with pytest.raises(errors.NotAllowed, match=errors.ADJUSTMENT_OWN_ACCOUNT):
        adjustments.request_adjustment(
            account_id=_diamonds_of(insider).pk, amount=5, reason="Mine", requested_by=insider
        )
    assert run_ledger_check().ok


@pytest.mark.django_db
def test_an_approver_cannot_approve_an_adjustment_of_their_own_creator_balance(
    finance, approver, make_creator
):
    creator = make_creator(is_staff=True)
    creator.user.groups.add(*approver.groups.all())
    insider = User.objects.get(pk=creator.user_id)
    request = adjustments.request_adjustment(
        account_id=_diamonds_of(insider).pk, amount=50_000, reason="Partner's bonus", requested_by=finance
    )
    assert request.status == AdjustmentRequest.Status.PENDING

    refused = run_action(
        logged_in(insider),
        REQUESTS,
        "approve_adjustments",
        [request],
        apply="Approve",
        reason="ok",
        follow=True,
    )

    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.PENDING and request.approved_by is None
    assert diamond_balance(user_id=insider.pk) == 0
    assert errors.ADJUSTMENT_OWN_ACCOUNT in page_text(refused)
    assert run_ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_under_the_threshold_cannot_both_be_applied(finance, creator):
    partner = _diamonds_of(creator.user)
    services.system_account_id(Account.Kind.ADJUSTMENTS, partner.unit)
    statuses: list[Any] = run_concurrently(
        2,
        lambda i: (
            adjustments.request_adjustment(
                account_id=partner.pk, amount=6_000, reason=f"Split {i}", requested_by=finance
            ).status
        ),
    )

    assert sorted(statuses) == [AdjustmentRequest.Status.APPLIED, AdjustmentRequest.Status.PENDING], statuses
    assert diamond_balance(user_id=creator.user_id) == 6_000
    assert run_ledger_check().ok
