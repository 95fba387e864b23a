"""Accounts are provisioned, never created by a lookup: the system accounts by migration (and
again after a flush), a user's coin wallet with the user, a creator's diamonds at approval."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from creators import services as creator_services
from wallet import errors, selectors, services
from wallet.models import Account, Transaction, Unit, User


def _system_accounts() -> set[tuple[str, str]]:
    return set(Account.objects.filter(owner=None).values_list("kind", "unit"))


@pytest.mark.django_db
def test_every_system_account_exists_after_migrate():
    assert _system_accounts() == set(services.SYSTEM_ACCOUNTS)


@pytest.mark.django_db(transaction=True)
def test_a_flush_recreates_the_system_accounts():
    call_command("flush", interactive=False, verbosity=0)
    assert _system_accounts() == set(services.SYSTEM_ACCOUNTS)
    services.provision_system_accounts()  # idempotent
    assert Account.objects.filter(owner=None).count() == len(services.SYSTEM_ACCOUNTS)


@pytest.mark.django_db
def test_a_new_user_has_a_coin_wallet_and_no_diamond_account(make_user):
    user = make_user()
    assert services.coin_account(user_id=user.pk).balance == 0
    assert selectors.diamond_account_id_of(user_id=user.pk) is None
    with pytest.raises(errors.AccountNotFound):
        services.diamond_account_id(user_id=user.pk)


@pytest.mark.django_db
def test_createsuperuser_opens_the_staff_member_s_coin_wallet():
    call_command("createsuperuser", email="root@example.com", interactive=False, verbosity=0)
    user = User.objects.get(email="root@example.com")
    assert services.coin_account_id(user_id=user.pk) == selectors.wallet_of(user_id=user.pk).pk


@pytest.mark.django_db
def test_approval_opens_the_creator_s_diamond_account(make_user):
    staff, user = make_user(is_staff=True), make_user()
    applied = creator_services.apply_for_creator(
        user=user, display_name="Maker", handle="maker-one", bio="", category="Art"
    )
    assert selectors.diamond_account_id_of(user_id=user.pk) is None
    creator_services.approve_creator(creator_id=applied.pk, decided_by=staff)
    account = services.diamond_account(user_id=user.pk)
    assert (account.kind, account.unit, account.posting) == (
        Account.Kind.CREATOR_DIAMONDS,
        Unit.DIAMOND,
        Account.Posting.DEFERRED,
    )


@pytest.mark.django_db
def test_spending_on_a_user_who_is_no_creator_is_refused_and_moves_nothing(make_user, fund):
    viewer, not_a_creator = make_user(), make_user()
    fund(viewer, 100)
    with pytest.raises(errors.AccountNotFound):
        services.spend_coins(
            spender=viewer,
            coins=10,
            creator_user_id=not_a_creator.pk,
            diamonds=10,
            kind=Transaction.Kind.GIFT,
            idempotency_key="no-such-creator",
        )
    assert selectors.coin_balance(user_id=viewer.pk) == 100
    assert not Transaction.objects.filter(idempotency_key="no-such-creator").exists()


@pytest.mark.django_db
def test_signing_up_opens_the_viewer_s_coin_wallet(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "fresh@example.com",
            "password1": "a-Long-password-42",
            "password2": "a-Long-password-42",
            "display_name": "Fresh",
            "date_of_birth": "1999-04-01",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="fresh@example.com")
    wallet = services.coin_account(user_id=user.pk)
    assert (wallet.kind, wallet.unit, wallet.posting, wallet.balance) == (
        Account.Kind.USER_COINS,
        Unit.COIN,
        Account.Posting.STRICT,
        0,
    )
