"""Manual balance adjustments: money moves only through the wallet service (ledger key
`adjustment-<request id>`, against the ADJUSTMENTS account), every step is audited, and above
the threshold nothing moves until a second, different Finance member approves."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from wallet import errors, services
from wallet.models import Account, AdjustmentRequest, AuditEntry, Entry, Transaction
from wallet.moderation import adjustments
from wallet.selectors import coin_balance, diamond_balance
from wallet.services import run_ledger_check
from wallet.tests.moderation.conftest import action_names, adjust_balance, logged_in, page_text, run_action

pytestmark = pytest.mark.django_db

ACCOUNTS = "/admin/wallet/account/"
REQUESTS = "/admin/wallet/adjustmentrequest/"


@pytest.fixture(autouse=True)
def _threshold(settings) -> None:
    settings.ADJUSTMENT_APPROVAL_THRESHOLD_COINS = 1_000


@pytest.fixture
def viewer(make_user, fund):
    user = make_user()
    fund(user, 100)
    return user


def _wallet(user) -> Account:
    return Account.objects.get(pk=services.coin_account(user_id=user.pk).pk)


def test_a_small_credit_is_posted_at_once_against_the_adjustments_account_and_audited(finance, viewer):
    admin = logged_in(finance)
    wallet = _wallet(viewer)
    asks = run_action(admin, ACCOUNTS, "adjust_balances", [wallet])
    assert asks.status_code == 200 and "Amount" in page_text(asks) and "Reason" in page_text(asks)

    done = adjust_balance(admin, wallet, 500, "Stream outage refund")

    request = AdjustmentRequest.objects.get()
    assert request.status == AdjustmentRequest.Status.APPLIED and request.approved_by is None
    assert f"adjusted by +500 (ledger transaction #{request.transaction_id})" in page_text(done)
    assert coin_balance(user_id=viewer.pk) == 600
    posted = Transaction.objects.get(pk=request.transaction_id)
    assert (posted.kind, posted.idempotency_key, posted.created_by) == (
        "adjustment",
        f"adjustment-{request.pk}",
        finance,
    )
    legs = dict(Entry.objects.filter(transaction=posted).values_list("account__kind", "amount"))
    assert legs == {"user_coins": 500, "adjustments": -500}
    trail = list(AuditEntry.objects.order_by("id").values_list("action", "actor", "transaction_id"))
    assert trail == [
        ("adjustment.request", finance.pk, None),
        ("adjustment.apply", finance.pk, posted.pk),
    ]
    applied = AuditEntry.objects.get(action="adjustment.apply")
    assert (applied.before["balance"], applied.after["balance"]) == (100, 600)
    assert applied.reason == "Stream outage refund"
    assert run_ledger_check().ok


def test_above_the_threshold_nothing_moves_until_a_different_staff_member_approves(finance, approver, viewer):
    wallet = _wallet(viewer)
    # Someone in both finance groups still cannot approve what they requested.
    finance.groups.add(*approver.groups.all())
    finance = type(finance).objects.get(pk=finance.pk)
    finance2 = approver
    first, second = logged_in(finance), logged_in(finance2)

    waiting = adjust_balance(first, wallet, 5_000, "Contest prize")
    request = AdjustmentRequest.objects.get()
    assert "waits for a second staff member's approval" in page_text(waiting)
    assert request.status == AdjustmentRequest.Status.PENDING
    assert coin_balance(user_id=viewer.pk) == 100
    assert not Transaction.objects.filter(kind="adjustment").exists()

    own = run_action(
        first, REQUESTS, "approve_adjustments", [request], apply="Approve", reason="ok", follow=True
    )
    assert errors.ADJUSTMENT_SELF_APPROVAL in page_text(own)
    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.PENDING and request.approved_by is None
    assert coin_balance(user_id=viewer.pk) == 100

    approved = run_action(
        second, REQUESTS, "approve_adjustments", [request], apply="Approve", reason="Checked", follow=True
    )
    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.APPLIED
    assert (request.requested_by, request.approved_by) == (finance, finance2)
    assert f"approved and applied (ledger transaction #{request.transaction_id})" in page_text(approved)
    assert coin_balance(user_id=viewer.pk) == 5_100
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor"))
    assert actions == [
        ("adjustment.request", finance.pk),
        ("adjustment.approve", finance2.pk),
        ("adjustment.apply", finance2.pk),
    ]

    twice = run_action(
        second, REQUESTS, "approve_adjustments", [request], apply="Approve", reason="again", follow=True
    )
    assert errors.ADJUSTMENT_NOT_PENDING in page_text(twice)
    assert Transaction.objects.filter(kind="adjustment").count() == 1
    assert run_ledger_check().ok


def test_the_database_refuses_an_approval_by_the_requester(finance, viewer):
    request = adjustments.request_adjustment(
        account_id=_wallet(viewer).pk, amount=5_000, reason="Big", requested_by=finance
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AdjustmentRequest.objects.filter(pk=request.pk).update(approved_by=finance)


def test_a_debit_larger_than_the_balance_moves_nothing(finance, approver, viewer, fund):
    finance2 = approver
    wallet = _wallet(viewer)
    small = adjust_balance(logged_in(finance), wallet, -300)
    assert errors.ADJUSTMENT_INSUFFICIENT in page_text(small)
    assert not AdjustmentRequest.objects.exists() and not AuditEntry.objects.exists()

    adjust_balance(logged_in(finance), wallet, -2_000, "Clawback of a duplicate credit")
    request = AdjustmentRequest.objects.get()
    approve = run_action(
        logged_in(finance2),
        REQUESTS,
        "approve_adjustments",
        [request],
        apply="Approve",
        reason="ok",
        follow=True,
    )
    assert "Approved, but not applied yet: " + errors.ADJUSTMENT_INSUFFICIENT in page_text(approve)
    request.refresh_from_db()
    assert (request.status, request.last_error) == ("approved", errors.ADJUSTMENT_INSUFFICIENT)
    assert coin_balance(user_id=viewer.pk) == 100

    fund(viewer, 2_000)
    run_action(logged_in(finance2), REQUESTS, "apply_adjustments", [request], apply="Apply")
    request.refresh_from_db()
    assert (request.status, request.last_error) == ("applied", "")
    assert coin_balance(user_id=viewer.pk) == 100
    adjustments.apply_adjustment(request_id=request.pk, staff=finance2)  # applying again moves nothing
    assert Transaction.objects.filter(kind="adjustment").count() == 1
    assert run_ledger_check().ok


def test_a_creators_diamonds_are_credited_and_debited(finance, creator):
    diamonds = Account.objects.get(owner=creator.user, kind=Account.Kind.CREATOR_DIAMONDS)
    admin = logged_in(finance)
    adjust_balance(admin, diamonds, 300, "Missed gift credit")
    adjust_balance(admin, diamonds, -120, "Double credit")
    assert diamond_balance(user_id=creator.user_id) == 180
    units = set(Entry.objects.filter(transaction__kind="adjustment").values_list("unit", flat=True))
    assert units == {"DIAMOND"}
    assert run_ledger_check().ok


def test_a_frozen_wallet_can_still_be_corrected_by_staff(finance, viewer):
    wallet = _wallet(viewer)
    services.set_frozen(account=wallet, frozen=True, reason="fraud")
    adjust_balance(logged_in(finance), wallet, -100, "Fraudulent credit")
    assert coin_balance(user_id=viewer.pk) == 0


@pytest.mark.parametrize("amount", ["0", "abc", "1.5", "", "-1000000001", "99999999999999999999"])
def test_bad_amounts_get_a_form_error_and_nothing_is_recorded(finance, viewer, amount):
    response = adjust_balance(logged_in(finance), _wallet(viewer), amount, follow=False)
    assert response.status_code == 200
    assert "errorlist" in page_text(response)
    assert not AdjustmentRequest.objects.exists()
    assert coin_balance(user_id=viewer.pk) == 100


def test_system_accounts_cannot_be_adjusted(finance, viewer):
    issuance = Account.objects.get(kind=Account.Kind.COIN_ISSUANCE)
    response = adjust_balance(logged_in(finance), issuance, 10)
    assert errors.ADJUSTMENT_ACCOUNT_INVALID in page_text(response)
    assert not AdjustmentRequest.objects.exists()


def test_a_rejected_adjustment_never_moves(finance, approver, viewer):
    finance2 = approver
    adjust_balance(logged_in(finance), _wallet(viewer), 5_000)
    request = AdjustmentRequest.objects.get()
    no_reason = run_action(logged_in(finance2), REQUESTS, "reject_adjustments", [request], apply="Reject")
    assert errors.REASON_REQUIRED in page_text(no_reason)
    run_action(
        logged_in(finance2), REQUESTS, "reject_adjustments", [request], apply="Reject", reason="No ticket"
    )
    request.refresh_from_db()
    assert (request.status, request.rejected_by) == ("rejected", finance2)
    with pytest.raises(errors.WrongState, match=errors.ADJUSTMENT_NOT_PENDING):
        adjustments.approve_adjustment(request_id=request.pk, staff=finance2)
    assert coin_balance(user_id=viewer.pk) == 100


def test_a_moderator_cannot_adjust_or_approve_even_by_crafting_the_post(moderator, finance, viewer):
    admin = logged_in(moderator)
    wallet = _wallet(viewer)
    assert "adjust_balances" not in action_names(admin, ACCOUNTS)

    crafted = adjust_balance(admin, wallet, 50)
    assert "No action selected." in page_text(crafted)
    assert not AdjustmentRequest.objects.exists()

    request = adjustments.request_adjustment(
        account_id=wallet.pk, amount=5_000, reason="Big", requested_by=finance
    )
    refused = run_action(admin, REQUESTS, "approve_adjustments", [request], apply="Approve", reason="ok")
    assert refused.status_code == 403
    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.PENDING
    assert coin_balance(user_id=viewer.pk) == 100
