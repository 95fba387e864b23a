from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from wallet import errors, selectors, services
from wallet.models import Account, Entry, Transaction, Unit
from wallet.services import Leg

pytestmark = pytest.mark.django_db


def issuance() -> int:
    return services.system_account_id(Account.Kind.COIN_ISSUANCE, Unit.COIN)


def test_a_balanced_transaction_moves_both_balances(make_user):
    viewer = make_user()
    wallet = services.coin_account(user_id=viewer.pk)

    posted = services.post_transaction(
        kind="purchase", legs=[Leg(issuance(), -70), Leg(wallet.pk, 70)], idempotency_key="k-1"
    )

    assert posted.created is True
    assert selectors.coin_balance(user_id=viewer.pk) == 70
    assert selectors.balance_of(account_id=issuance()) == -70
    assert sorted(Entry.objects.filter(transaction_id=posted.id).values_list("amount", flat=True)) == [
        -70,
        70,
    ]


def test_replaying_a_key_returns_the_first_transaction_and_moves_nothing(make_user):
    viewer = make_user()
    wallet = services.coin_account(user_id=viewer.pk)
    legs = [Leg(issuance(), -70), Leg(wallet.pk, 70)]

    first = services.post_transaction(kind="purchase", legs=legs, idempotency_key="k-2")
    again = services.post_transaction(kind="purchase", legs=legs, idempotency_key="k-2")

    assert again.id == first.id and again.created is False
    assert selectors.coin_balance(user_id=viewer.pk) == 70
    assert Transaction.objects.filter(idempotency_key="k-2").count() == 1


def test_the_same_key_with_other_content_is_a_conflict(make_user):
    viewer = make_user()
    wallet = services.coin_account(user_id=viewer.pk)
    services.post_transaction(
        kind="purchase", legs=[Leg(issuance(), -70), Leg(wallet.pk, 70)], idempotency_key="k-3"
    )

    with pytest.raises(errors.IdempotencyConflict):
        services.post_transaction(
            kind="purchase", legs=[Leg(issuance(), -71), Leg(wallet.pk, 71)], idempotency_key="k-3"
        )
    assert selectors.coin_balance(user_id=viewer.pk) == 70


def test_an_unbalanced_transaction_is_refused(make_user):
    wallet = services.coin_account(user_id=make_user().pk)

    with pytest.raises(errors.UnbalancedTransaction):
        services.post_transaction(
            kind="purchase", legs=[Leg(issuance(), -70), Leg(wallet.pk, 69)], idempotency_key="u"
        )
    assert not Transaction.objects.filter(idempotency_key="u").exists()


def test_legs_in_different_units_must_each_balance(make_user):
    user = make_user()
    services.open_diamond_accounts(user_ids=[user.pk])
    coins = services.coin_account(user_id=user.pk)
    diamonds = services.diamond_account(user_id=user.pk)

    with pytest.raises(errors.UnbalancedTransaction):
        services.post_transaction(
            kind="transfer", legs=[Leg(coins.pk, 5), Leg(diamonds.pk, -5)], idempotency_key="x"
        )


def test_a_debit_larger_than_the_balance_is_refused_and_nothing_moves(make_user, fund):
    viewer = make_user()
    creator = make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 10)

    with pytest.raises(errors.InsufficientCoins):
        services.spend_coins(
            spender=viewer,
            coins=11,
            creator_user_id=creator.pk,
            diamonds=11,
            kind="gift",
            idempotency_key="g",
        )
    assert selectors.coin_balance(user_id=viewer.pk) == 10
    assert selectors.diamond_balance(user_id=creator.pk) == 0
    assert not Transaction.objects.filter(idempotency_key="g").exists()


def test_a_frozen_wallet_cannot_spend(make_user, fund):
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 10)
    services.set_frozen(account=services.coin_account(user_id=viewer.pk), frozen=True, reason="chargeback")

    with pytest.raises(errors.AccountFrozen):
        services.spend_coins(
            spender=viewer,
            coins=1,
            creator_user_id=creator.pk,
            diamonds=1,
            kind="gift",
            idempotency_key="f",
        )
    assert selectors.coin_balance(user_id=viewer.pk) == 10


def test_spending_splits_exactly_between_creator_and_platform(make_user, fund):
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 101)

    spend = services.spend_coins(
        spender=viewer,
        coins=101,
        creator_user_id=creator.pk,
        diamonds=services.creator_share(101, 50),
        kind="unlock",
        idempotency_key="s",
    )

    assert spend.diamonds == 50
    assert selectors.diamond_balance(user_id=creator.pk) == 50
    assert (
        selectors.balance_of(account_id=services.system_account_id(Account.Kind.PLATFORM_REVENUE, Unit.COIN))
        == 51
    )
    assert services.run_ledger_check().ok


def test_under_18_viewers_cannot_spend(make_user, fund):
    teen = make_user(age=16)
    fund(teen, 100)

    with pytest.raises(errors.AgeRestricted):
        services.spend_coins(
            spender=teen,
            coins=1,
            creator_user_id=make_user().pk,
            diamonds=1,
            kind="gift",
            idempotency_key="t",
        )


def test_the_daily_cap_is_enforced_in_the_spending_transaction(make_user, fund, settings):
    settings.DAILY_SPEND_CAP_COINS = 100
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 500)
    services.spend_coins(
        spender=viewer, coins=60, creator_user_id=creator.pk, diamonds=60, kind="gift", idempotency_key="c1"
    )

    with pytest.raises(errors.DailyCapReached):
        services.spend_coins(
            spender=viewer,
            coins=41,
            creator_user_id=creator.pk,
            diamonds=41,
            kind="gift",
            idempotency_key="c2",
        )
    assert selectors.coin_balance(user_id=viewer.pk) == 440
    assert services.daily_spend_today(viewer.pk) == 60


def test_a_replayed_spend_does_not_count_twice_against_the_cap(make_user, fund, settings):
    settings.DAILY_SPEND_CAP_COINS = 100
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 500)
    for _ in range(3):
        services.spend_coins(
            spender=viewer,
            coins=60,
            creator_user_id=creator.pk,
            diamonds=60,
            kind="gift",
            idempotency_key="same",
        )
    assert services.daily_spend_today(viewer.pk) == 60
    assert selectors.coin_balance(user_id=viewer.pk) == 440


def test_creator_credits_are_deferred_and_roll_up_to_the_same_balance(make_user, fund):
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 100)
    for i in range(5):
        services.spend_coins(
            spender=viewer,
            coins=7,
            creator_user_id=creator.pk,
            diamonds=7,
            kind="gift",
            idempotency_key=f"d{i}",
        )
    account = services.diamond_account(user_id=creator.pk)
    account.refresh_from_db()
    assert account.balance == 0 and selectors.diamond_balance(user_id=creator.pk) == 35

    assert services.roll_up_account(account_id=account.pk) == 35
    account.refresh_from_db()
    assert account.balance == 35 and selectors.diamond_balance(user_id=creator.pk) == 35
    assert services.run_ledger_check().ok


def test_debiting_a_creator_folds_pending_credits_first(make_user, fund):
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 50)
    services.spend_coins(
        spender=viewer, coins=50, creator_user_id=creator.pk, diamonds=50, kind="gift", idempotency_key="p"
    )
    diamonds = services.diamond_account(user_id=creator.pk)
    in_flight = services.system_account_id(Account.Kind.PAYOUTS_IN_FLIGHT, Unit.DIAMOND)

    services.post_transaction(
        kind="payout", legs=[Leg(diamonds.pk, -50), Leg(in_flight, 50)], idempotency_key="po"
    )
    with pytest.raises(errors.InsufficientCoins):
        services.post_transaction(
            kind="payout", legs=[Leg(diamonds.pk, -1), Leg(in_flight, 1)], idempotency_key="po2"
        )
    assert selectors.diamond_balance(user_id=creator.pk) == 0
    assert services.run_ledger_check().ok


def test_the_database_refuses_a_negative_user_balance(make_user):
    wallet = services.coin_account(user_id=make_user().pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet.pk).update(balance=-1)


def test_bad_amounts_are_refused_before_the_database(make_user):
    wallet = services.coin_account(user_id=make_user().pk)
    for bad in (0, 1.5, "3", True, 2**63, None):
        with pytest.raises(errors.CoinSiteError):
            services.post_transaction(
                kind="purchase",
                legs=[Leg(issuance(), bad), Leg(wallet.pk, bad)],
                idempotency_key=f"b-{bad}",  # type: ignore[arg-type]
            )
    assert connection.is_usable()
