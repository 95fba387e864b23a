"""Concurrency on real PostgreSQL: real threads, each with its own connection, started together."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concurrency import run_concurrently
from wallet import errors, selectors, services
from wallet.models import Account, Transaction, Unit

pytestmark = pytest.mark.django_db(transaction=True)


def test_32_threads_spending_from_one_wallet_never_overdraw_it(make_user, fund):
    viewer, creator = make_user(), make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    fund(viewer, 100)

    def spend(i: int) -> Any:
        return services.spend_coins(
            spender=viewer,
            coins=7,
            creator_user_id=creator.pk,
            diamonds=7,
            kind="gift",
            idempotency_key=f"spend-{i}",
        )

    results = run_concurrently(32, spend)

    succeeded = [r for r in results if isinstance(r, services.Spend)]
    refused = [r for r in results if isinstance(r, errors.InsufficientCoins)]
    assert len(succeeded) == 14 and len(refused) == 18, results
    assert selectors.coin_balance(user_id=viewer.pk) == 100 - 14 * 7
    assert selectors.diamond_balance(user_id=creator.pk) == 14 * 7
    assert services.run_ledger_check().ok


def test_32_threads_gifting_one_creator_lose_no_diamond(make_user, fund):
    creator = make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    viewers = [make_user() for _ in range(32)]
    for v in viewers:
        fund(v, 1000)

    def gift(i: int) -> int:
        for n in range(10):
            services.spend_coins(
                spender=viewers[i],
                coins=i + 1,
                creator_user_id=creator.pk,
                diamonds=i + 1,
                kind="gift",
                idempotency_key=f"gift-{i}-{n}",
            )
        return i

    results = run_concurrently(32, gift)

    assert results == list(range(32))
    expected = 10 * sum(range(1, 33))
    assert selectors.diamond_balance(user_id=creator.pk) == expected
    diamonds = services.diamond_account(user_id=creator.pk)
    services.roll_up_account(account_id=diamonds.pk)
    diamonds.refresh_from_db()
    assert diamonds.balance == expected
    assert services.run_ledger_check().ok


def test_rolling_up_while_gifts_arrive_loses_nothing(make_user, fund):
    creator = make_user()
    services.open_diamond_accounts(user_ids=[creator.pk])  # as approval does
    viewers = [make_user() for _ in range(8)]
    for v in viewers:
        fund(v, 100)
    account_id = services.diamond_account(user_id=creator.pk).pk

    def work(i: int) -> None:
        if i < 8:
            for n in range(20):
                services.spend_coins(
                    spender=viewers[i],
                    coins=1,
                    creator_user_id=creator.pk,
                    diamonds=1,
                    kind="gift",
                    idempotency_key=f"r-{i}-{n}",
                )
        else:
            for _ in range(20):
                services.roll_up_account(account_id=account_id)

    assert run_concurrently(10, work) == [None] * 10
    assert selectors.diamond_balance(user_id=creator.pk) == 160
    assert services.run_ledger_check().ok


def test_replays_of_one_key_from_10_threads_post_one_transaction(make_user):
    viewer = make_user()
    wallet = services.coin_account(user_id=viewer.pk)
    issuance = services.system_account_id(Account.Kind.COIN_ISSUANCE, Unit.COIN)
    legs = [services.Leg(issuance, -350), services.Leg(wallet.pk, 350)]

    results = run_concurrently(
        10, lambda i: services.post_transaction(kind="purchase", legs=legs, idempotency_key="replayed-key")
    )

    assert all(isinstance(r, services.PostedTransaction) for r in results), results
    assert len({r.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Transaction.objects.filter(idempotency_key="replayed-key").count() == 1
    assert selectors.coin_balance(user_id=viewer.pk) == 350
