"""Creators' domain errors (subclasses of the one `CoinSiteError`) and every message creators
shows a person: the services' refusals and answers, the pages', the forms' and the API's.
Payout messages are the payouts package's own (`creators.payouts.errors`)."""

from __future__ import annotations

from wallet.errors import CoinSiteError, InvalidRequest, NotFound

SOLD_OUT = "Sorry, this item is sold out."
NOT_ENOUGH_STOCK = "Only {stock} left in stock."
PRICE_CHANGED = "The price changed to {price} coins each. Please review and order again."
ALREADY_UNLOCKED = "You already unlocked this post, so no coins were charged."
OWN_POST = "This is your own post: you can already see all of it."
FREE_POST = "This post is free: there is nothing to unlock."
OWN_MERCH = "You can't buy your own merch."
ORDER_SHIPPED = "This order has already shipped, so it can't be cancelled."
ORDER_CANCELLED = "This order was cancelled, so it can't be shipped."
BAD_QUANTITY = "Choose a quantity from 1 to {maximum}."
REASON_REQUIRED = "A reason is required to reject an application."
HANDLE_INVALID = "Enter a valid handle: {min} to {max} letters, digits, '-' or '_'."
HANDLE_RESERVED = "That handle is reserved. Try another one."
HANDLE_TAKEN = "That handle is taken. Try another one."
NOT_APPLIED = "Only a pending application can be decided (this one is {status})."
CREATOR_TOO_YOUNG = "You must be {age} or older to be a creator."
FORM_EXPIRED = "This form expired. Reload the page and try again."

# ---------------------------------------------------------------- applying, the studio
APPLICATION_PENDING = "Your application is already being reviewed."
APPLICATION_SENT = "Thanks! Your application was sent; staff will review it soon."
STUDIO_NOT_APPROVED = "Only approved creators have a studio."
NO_SUCH_CREATOR = "No such creator."

# ---------------------------------------------------------------- posts
POST_NOT_APPROVED = "Only approved creators can publish posts."
POST_PRICE_INVALID = "The price must be between 0 and {max:,} coins."
PRICED_POST_NEEDS_BODY = "A priced post needs a premium body or a file to unlock."
PRICED_POST_NEEDS_TEXT = "A priced post needs premium text or a file to unlock."
FILE_TOO_LARGE = "The file is too large (at most {mb} MB)."
POST_PUBLISHED = "Your post is published."
UNLOCKED = "Unlocked for {coins} coins."
UNLOCK_FOR_FILE = "Unlock this post to get its file."
POST_NOT_FOUND = "That post doesn't exist."
NO_SUCH_POST = "No such post."
NO_SUCH_FILE = "No such file."
FILE_NOT_FOUND = "File not found."

# ---------------------------------------------------------------- merch and orders
MERCH_NOT_APPROVED = "Only approved creators can sell merch."
MERCH_PRICE_INVALID = "The price must be between 1 and {max:,} coins."
STOCK_INVALID = "Stock must be between 0 and {max:,}."
STOCK_CHANGE_INVALID = "Stock must stay between 0 and {max:,}."
STAFF_HIDDEN = "Staff hid this item, so it stays hidden. Contact support if you think that was a mistake."
ITEM_NOT_FOUND = "That item doesn't exist."
NO_SUCH_ITEM = "No such item."
NO_SUCH_IMAGE = "No such image."
SHIPPING_FIELD_REQUIRED = "The shipping address needs a {field}."
SHIPPING_FIELD_TOO_LONG = "The shipping {field} is too long (at most {limit})."
COUNTRY_INVALID = "The country must be a two-letter code such as US or DE."
COUNTRY_CODE_INVALID = "Enter a two-letter country code such as US or DE."
ORDER_PLACED = "Order placed: {coins} coins."
ITEM_ON_SALE = "“{name}” is on sale."
ITEM_UPDATED = "“{name}” was updated."
ORDER_NOT_FOUND = "That order doesn't exist."
ORDER_NEVER_CHARGED = "This order was never charged."
ORDER_CANCELLED_REFUNDED = "Order cancelled: {coins} coins returned."
ALREADY_CANCELLED = "This order was already cancelled."
ALREADY_SHIPPED = "This order was already marked shipped."
ORDER_SHIPPED_RELEASED = "Order #{id} marked shipped: {diamonds} diamonds released."

# ---------------------------------------------------------------- staff moderation
NOT_APPROVED = "Only an approved creator can be suspended (this one is {status})."
NOT_SUSPENDED = "Only a suspended creator can be reinstated (this one is {status})."
ALREADY_HIDDEN = "This is already hidden."
NOT_HIDDEN = "This is not hidden."
ROW_NOT_FOUND = "That {name} doesn't exist."


class SoldOut(CoinSiteError):
    code = "sold_out"
    status = 409
    default_message = SOLD_OUT


class PriceChanged(CoinSiteError):
    code = "price_changed"
    status = 409
    default_message = "The price changed."


__all__ = ["InvalidRequest", "NotFound", "PriceChanged", "SoldOut"]

# ---------------------------------------------------------------- stream keys

STREAM_NOT_APPROVED = "Only approved creators can stream."
