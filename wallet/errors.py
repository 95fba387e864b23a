"""The one domain error type, its subclasses, and the messages tests assert on.

Views render `message`; the API returns `{"code", "message", "extra"}` with `status`.
"""

from __future__ import annotations

from typing import Any


class CoinSiteError(Exception):
    code = "error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, extra: dict[str, Any] | None = None
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.message)


class InvalidRequest(CoinSiteError):
    code = "invalid"
    status = 400


class NotAllowed(CoinSiteError):
    code = "forbidden"
    status = 403
    default_message = "You are not allowed to do that."


class NotFound(CoinSiteError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class InsufficientCoins(CoinSiteError):
    code = "insufficient_funds"
    status = 402
    default_message = "You don't have enough coins for that. Get more coins to continue."


class AccountFrozen(CoinSiteError):
    code = "account_frozen"
    status = 423
    default_message = "This wallet is frozen. Contact support."


class IdempotencyConflict(CoinSiteError):
    code = "idempotency_conflict"
    status = 409
    default_message = "This idempotency key was already used for a different request."


class UnbalancedTransaction(CoinSiteError):
    code = "unbalanced"
    status = 422
    default_message = "A ledger transaction must balance per unit."


class AgeRestricted(CoinSiteError):
    code = "age_restricted"
    status = 403
    default_message = "You must be 18 or older to buy or spend coins."


class DailyCapReached(CoinSiteError):
    code = "daily_cap_reached"
    status = 403
    default_message = "You have reached your daily spending limit. It resets at midnight UTC."


class WrongState(CoinSiteError):
    code = "wrong_state"
    status = 409
    default_message = "That can't be done in the current state."
