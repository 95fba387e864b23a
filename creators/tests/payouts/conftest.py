"""Fixtures for the payout tests: settings pinned to known values, creators with diamonds and
a verified local payout account, made through the real services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from creators.models import Creator, Payout
from creators.payouts.services import accounts
from wallet.models import Account, Transaction, Unit
from wallet.services import Leg, diamond_account_id, post_transaction, system_account_id

_keys = itertools.count()


@pytest.fixture(autouse=True)
def payout_settings(settings: Any) -> Any:
    settings.PAYOUT_PROVIDER = "local"
    settings.LOCAL_PAYOUTS_AUTO_VERIFY = True
    settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = []
    settings.LOCAL_PAYOUT_DELAY_MS = 0
    settings.DIAMOND_VALUE_MILLICENTS = 500
    settings.MINIMUM_PAYOUT_CENTS = 1000
    settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 1_000_000
    settings.PAYOUT_LEASE_SECONDS = 300
    settings.COIN_CURRENCY = "usd"
    # These tests are about moving money; the earnings hold has its own tests.
    settings.EARNINGS_HOLD_DAYS = 0
    return settings


def give_diamonds(creator: Creator, diamonds: int) -> None:
    """Credit diamonds the way a staff adjustment does (from diamond issuance)."""
    post_transaction(
        kind=Transaction.Kind.ADJUSTMENT,
        legs=[
            Leg(system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND), -diamonds),
            Leg(diamond_account_id(user_id=creator.user_id), diamonds),
        ],
        idempotency_key=f"test-diamonds-{creator.pk}-{next(_keys)}",
    )


def take_diamonds(creator: Creator, diamonds: int) -> None:
    """A clawback or adjustment taking diamonds back (the strict debit path)."""
    post_transaction(
        kind=Transaction.Kind.ADJUSTMENT,
        legs=[
            Leg(diamond_account_id(user_id=creator.user_id), -diamonds),
            Leg(system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND), diamonds),
        ],
        idempotency_key=f"test-take-{creator.pk}-{next(_keys)}",
    )


@pytest.fixture
def payee(make_creator: Callable[..., Creator]) -> Callable[..., Creator]:
    """An approved creator with `diamonds` and a verified local payout account."""

    def make(diamonds: int = 2_001, **kwargs: Any) -> Creator:
        creator = make_creator(**kwargs)
        accounts.connect_payout_account(creator=creator)
        if diamonds:
            give_diamonds(creator, diamonds)
        return creator

    return make


def keys_of(payout: Payout) -> set[str]:
    return set(
        Transaction.objects.filter(reference=f"payout:{payout.pk}").values_list("idempotency_key", flat=True)
    )
