"""`{% load money %}{{ cents|money:currency }}`: money on a page, through `wallet.money.format_money`
(the currency defaults to COIN_CURRENCY)."""

from __future__ import annotations

from django import template

from wallet.money import format_money

register = template.Library()


@register.filter
def money(cents: int | None, currency: str | None = None) -> str:
    return "" if cents is None else format_money(cents, currency)
