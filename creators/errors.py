"""Creators' domain errors (subclasses of the one `CoinSiteError`) and the messages tests assert on."""

from __future__ import annotations

from wallet.errors import CoinSiteError, InvalidRequest, NotFound

SOLD_OUT = "Sorry, this item is sold out."
NOT_ENOUGH_STOCK = "Only {stock} left in stock."
PRICE_CHANGED = "The price changed to {price} coins each. Please review and order again."
ALREADY_UNLOCKED = "You already unlocked this post, so no coins were charged."
OWN_POST = "This is your own post: you can already see all of it."
FREE_POST = "This post is free: there is nothing to unlock."
OWN_MERCH = "You can't buy your own merch."
ORDER_PLACED = "Order placed: {coins} coins."
ORDER_SHIPPED = "This order has already shipped, so it can't be cancelled."
ORDER_CANCELLED = "This order was cancelled, so it can't be shipped."
BAD_QUANTITY = "Choose a quantity from 1 to {maximum}."
REASON_REQUIRED = "A reason is required to reject an application."
HANDLE_INVALID = "Enter a valid handle: {min} to {max} letters, digits, '-' or '_'."
HANDLE_RESERVED = "That handle is reserved. Try another one."
HANDLE_TAKEN = "That handle is taken. Try another one."
NOT_APPLIED = "Only a pending application can be decided (this one is {status})."
CREATOR_TOO_YOUNG = "You must be {age} or older to be a creator."


class SoldOut(CoinSiteError):
    code = "sold_out"
    status = 409
    default_message = SOLD_OUT


class PriceChanged(CoinSiteError):
    code = "price_changed"
    status = 409
    default_message = "The price changed."


__all__ = ["InvalidRequest", "NotFound", "PriceChanged", "SoldOut"]
