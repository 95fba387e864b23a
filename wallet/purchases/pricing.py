"""The server's price for coins: a package's own price, or a custom amount at a package rate."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from wallet import errors
from wallet.models import CoinPackage


@dataclass(frozen=True)
class Price:
    coins: int
    amount_cents: int
    currency: str
    package: CoinPackage | None


def price_for_package(*, package_id: int) -> Price:
    package = CoinPackage.objects.filter(pk=package_id, active=True).first()
    if package is None:
        raise errors.InvalidRequest(errors.PACKAGE_UNAVAILABLE)
    return Price(
        coins=package.coins, amount_cents=package.price_cents, currency=package.currency, package=package
    )


def custom_coins_range() -> tuple[int, int]:
    return settings.CUSTOM_COINS_MIN, settings.CUSTOM_COINS_MAX


def price_for_custom_coins(*, coins: int) -> Price:
    """Price `coins` at the rate of the largest active package that is not bigger than the
    amount (the smallest package's rate below it), rounded up to a whole cent."""
    low, high = custom_coins_range()
    if isinstance(coins, bool) or not isinstance(coins, int) or not low <= coins <= high:
        raise errors.InvalidRequest(errors.CUSTOM_COINS_OUT_OF_RANGE.format(min=low, max=high))
    packages = list(
        CoinPackage.objects.filter(active=True, currency=settings.COIN_CURRENCY).order_by(
            "coins", "price_cents"
        )
    )
    if not packages:
        raise errors.InvalidRequest(errors.PACKAGE_UNAVAILABLE)
    rate = packages[0]
    for package in packages:
        if package.coins <= coins:
            rate = package
    amount = -(-coins * rate.price_cents // rate.coins)
    return Price(coins=coins, amount_cents=amount, currency=rate.currency, package=None)
