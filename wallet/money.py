"""How money is shown: one formatter for every page, admin screen, CSV cell and message.

Pages use the `money` template filter (`{% load money %}{{ cents|money:currency }}`,
wallet/templatetags/money.py), which calls `format_money`; Python strings call it directly.
The API returns integer cents and a currency code, never a formatted string.
"""

from __future__ import annotations

from django.conf import settings

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def format_money(cents: int, currency: str | None = None) -> str:
    """`cents` of `currency` (default COIN_CURRENCY) for people: "$1,234.56" for a currency with
    a symbol, "1,234.56 CHF" for any other, "-$0.99" below zero."""
    currency = (currency or settings.COIN_CURRENCY).lower()
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    amount = f"{whole:,}.{part:02d}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"
