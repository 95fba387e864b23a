"""Fixtures for the payout tests: settings pinned to known values, creators with diamonds and
a verified local payout account, made through the real services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from creators.models import Creator, Payout
from wallet.models import Transaction


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


@pytest.fixture
def payee(make_creator: Callable[..., Creator]) -> Callable[..., Creator]:
    """`make_creator` with a payout account (verified: these tests' settings auto-verify) and
    `diamonds` (2,001 unless given)."""

    def make(diamonds: int = 2_001, **kwargs: Any) -> Creator:
        return make_creator(payout_account=True, diamonds=diamonds, **kwargs)

    return make


def keys_of(payout: Payout) -> set[str]:
    return set(
        Transaction.objects.filter(reference=f"payout:{payout.pk}").values_list("idempotency_key", flat=True)
    )
