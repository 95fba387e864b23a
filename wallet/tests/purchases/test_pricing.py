"""The server's prices: packages at their own price, custom amounts at a package rate."""

from __future__ import annotations

import pytest

from wallet import errors
from wallet.models import CoinPackage
from wallet.purchases.pricing import price_for_custom_coins, price_for_package


def test_a_package_costs_its_own_price(packages):
    package = CoinPackage.objects.get(coins=17500)
    price = price_for_package(package_id=package.pk)
    assert (price.coins, price.amount_cents, price.currency, price.package) == (17500, 24999, "usd", package)


@pytest.mark.parametrize(
    ("coins", "cents"),
    [
        (30, 43),  # below the smallest package: its rate, 30 * 99 / 70 = 42.43 -> 43
        (70, 99),
        (100, 142),  # 70-coin rate: 141.43 -> 142
        (1000, 1428),  # 700-coin rate: 1427.14 -> 1428
        (7000, 9999),
        (250_000, 357_129),  # 17,500-coin rate: 357,128.57 -> 357,129
    ],
)
def test_a_custom_amount_uses_the_rate_of_the_largest_package_not_bigger_rounded_up(packages, coins, cents):
    assert price_for_custom_coins(coins=coins).amount_cents == cents


def test_inactive_packages_are_neither_sold_nor_used_as_a_rate(packages):
    seventy = CoinPackage.objects.get(coins=70)
    seventy.active = False
    seventy.save()
    with pytest.raises(errors.InvalidRequest, match=errors.PACKAGE_UNAVAILABLE):
        price_for_package(package_id=seventy.pk)
    assert price_for_custom_coins(coins=100).amount_cents == 143  # 350-coin rate: 142.57 -> 143


@pytest.mark.parametrize("coins", [29, 250_001, 0, -5])
def test_custom_amounts_outside_the_settings_are_refused(packages, settings, coins):
    message = errors.CUSTOM_COINS_OUT_OF_RANGE.format(
        min=settings.CUSTOM_COINS_MIN, max=settings.CUSTOM_COINS_MAX
    )
    with pytest.raises(errors.InvalidRequest) as raised:
        price_for_custom_coins(coins=coins)
    assert raised.value.message == message
