"""Money shows one way everywhere: `wallet.money.format_money`, and the `money` template filter
that calls it."""

from __future__ import annotations

from django.template import Context, Template

from wallet.money import format_money


def test_money_is_formatted_from_integer_cents():
    assert format_money(99, "usd") == "$0.99"
    assert format_money(24999, "usd") == "$249.99"
    assert format_money(123456, "chf") == "1,234.56 CHF"


def test_symbols_thousands_and_signs():
    assert format_money(0, "USD") == "$0.00"
    assert format_money(100_000_000, "eur") == "€1,000,000.00"
    assert format_money(5, "gbp") == "£0.05"
    assert format_money(-99, "usd") == "-$0.99"
    assert format_money(-123456, "chf") == "-1,234.56 CHF"


def test_the_currency_defaults_to_the_coin_currency(settings):
    settings.COIN_CURRENCY = "eur"
    assert format_money(150) == "€1.50"


def test_the_template_filter_is_the_same_formatter(settings):
    settings.COIN_CURRENCY = "usd"
    page = Template("{% load money %}{{ a|money }} {{ b|money:'chf' }} [{{ c|money }}]").render(
        Context({"a": 2000, "b": 123456, "c": None})
    )
    assert page == "$20.00 1,234.56 CHF []"
