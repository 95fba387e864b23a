"""Moderators freeze and unfreeze wallets from admin with a reason; a frozen viewer cannot send
gifts; every freeze is audited; Finance staff cannot freeze, even with a crafted POST."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from gifts.services import send_gift
from wallet import errors, services
from wallet.models import Account, AuditEntry, CoinPurchase, CoinReceivable
from wallet.moderation import actions
from wallet.selectors import coin_balance
from wallet.tests.moderation.conftest import action_names, logged_in, page_text, run_action

pytestmark = pytest.mark.django_db

ACCOUNTS = "/admin/wallet/account/"


def _wallet(user) -> Account:
    return Account.objects.get(pk=services.coin_account(user_id=user.pk).pk)


def test_a_moderator_freezes_a_wallet_with_a_reason_and_the_viewer_cannot_gift(
    moderator, make_user, fund, live_session, rose
):
    viewer = make_user()
    fund(viewer, 50)
    wallet = _wallet(viewer)
    admin = logged_in(moderator)
    assert {"freeze_wallets", "unfreeze_wallets"} <= set(action_names(admin, ACCOUNTS))

    asks = run_action(admin, ACCOUNTS, "freeze_wallets", [wallet])
    assert asks.status_code == 200
    assert "Reason" in page_text(asks) and str(wallet) in page_text(asks)
    blank = run_action(admin, ACCOUNTS, "freeze_wallets", [wallet], apply="Freeze", reason="  ")
    assert errors.REASON_REQUIRED in page_text(blank)
    assert not _wallet(viewer).frozen and not AuditEntry.objects.exists()

    done = run_action(admin, ACCOUNTS, "freeze_wallets", [wallet], apply="Freeze", reason="Stolen card ring")
    assert done.status_code == 302
    frozen = _wallet(viewer)
    assert (frozen.frozen, frozen.frozen_reason) == (True, "Stolen card ring")
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.reason, entry.target_id) == (
        moderator,
        "wallet.freeze",
        "Stolen card ring",
        str(wallet.pk),
    )
    assert (entry.before, entry.after) == (
        {"frozen": False, "frozen_reason": ""},
        {"frozen": True, "frozen_reason": "Stolen card ring"},
    )
    assert entry.transaction_id is None
    with pytest.raises(errors.AccountFrozen):
        send_gift(sender=viewer, gift=rose, count=1, idempotency_key="frozen-1", session=live_session)
    assert coin_balance(user_id=viewer.pk) == 50

    again = run_action(
        admin, ACCOUNTS, "freeze_wallets", [wallet], apply="Freeze", reason="twice", follow=True
    )
    assert errors.WALLET_ALREADY_FROZEN in page_text(again)
    run_action(admin, ACCOUNTS, "unfreeze_wallets", [wallet], apply="Unfreeze", reason="Cleared by bank")
    assert not _wallet(viewer).frozen
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "wallet.freeze",
        "wallet.unfreeze",
    ]
    send_gift(sender=viewer, gift=rose, count=1, idempotency_key="thawed-1", session=live_session)
    assert coin_balance(user_id=viewer.pk) == 49


def test_finance_staff_cannot_freeze_even_by_crafting_the_post(finance, make_user, fund):
    viewer = make_user()
    fund(viewer, 10)
    wallet = _wallet(viewer)
    admin = logged_in(finance)
    assert "freeze_wallets" not in action_names(admin, ACCOUNTS)

    response = run_action(
        admin, ACCOUNTS, "freeze_wallets", [wallet], apply="Freeze", reason="x", follow=True
    )

    assert "No action selected." in page_text(response)
    assert not _wallet(viewer).frozen and not AuditEntry.objects.exists()


def test_staff_outside_both_groups_reach_no_action(make_user, fund):
    staff = make_user(is_staff=True)
    viewer = make_user()
    fund(viewer, 10)
    response = run_action(
        logged_in(staff), ACCOUNTS, "freeze_wallets", [_wallet(viewer)], apply="F", reason="x"
    )
    assert response.status_code == 403
    assert not _wallet(viewer).frozen


def test_system_accounts_cannot_be_frozen(moderator, make_user, fund):
    fund(make_user(), 10)
    issuance = Account.objects.get(kind=Account.Kind.COIN_ISSUANCE)
    response = run_action(
        logged_in(moderator), ACCOUNTS, "freeze_wallets", [issuance], apply="Freeze", reason="x", follow=True
    )
    assert errors.WALLET_NOT_FREEZABLE in page_text(response)
    issuance.refresh_from_db()
    assert not issuance.frozen


def test_a_wallet_that_owes_coins_stays_frozen(moderator, make_user):
    viewer = make_user()
    purchase = CoinPurchase.objects.create(
        user=viewer,
        page_token=uuid.uuid4(),
        coins=700,
        amount_cents=999,
        currency="usd",
        status=CoinPurchase.Status.REFUNDED,
        credited_at=timezone.now(),
    )
    CoinReceivable.objects.create(user=viewer, purchase=purchase, source="refund", coins=200)
    wallet = _wallet(viewer)
    actions.freeze_wallet(account_id=wallet.pk, staff=moderator, reason="Owes coins")

    with pytest.raises(errors.WrongState, match="owes 200 coins"):
        actions.unfreeze_wallet(account_id=wallet.pk, staff=moderator, reason="Please")
    assert _wallet(viewer).frozen


@pytest.mark.parametrize(
    ("selected", "status"),
    [("abc", 400), ("", 400), ("1.5", 400), ("99999999999999999999999", 302), ("-1", 302)],
)
def test_a_crafted_selection_of_bad_ids_is_a_4xx_or_selects_nothing(moderator, selected, status):
    response = logged_in(moderator).post(
        ACCOUNTS,
        {"action": "freeze_wallets", "_selected_action": [selected], "apply": "Freeze", "reason": "x"},
    )
    assert response.status_code == status  # 302: a well-formed id that names no row selects nothing
    assert not AuditEntry.objects.exists()
