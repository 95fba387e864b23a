"""The one domain error type, its subclasses, and every message wallet shows a person (the
services' refusals, the pages', the forms' and the API's answers).

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


class AccountNotFound(NotFound):
    """A lookup of an account that was never provisioned (accounts are not created on demand)."""

    code = "account_not_found"
    default_message = "That account does not exist."


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


# ---------------------------------------------------------------- signing in, API tokens, the ledger

LOG_IN_FIRST = "Please log in first."
BAD_CREDENTIALS = "That email address and password don't match an account."
TOO_MANY_LOGIN_ATTEMPTS = "Too many failed log-in attempts. Try again later."
BIRTH_DATE_IN_FUTURE = "Your date of birth can't be in the future."
BIRTH_DATE_NOT_REAL = "Please enter your real date of birth."
TOKENS_REVOKED = "Your API tokens are revoked: apps using them must log in again."
NO_TOKENS = "You have no API tokens."
NO_SUCH_ENDPOINT = "There is no such API endpoint."
COINS_NOT_POSITIVE = "The amount of coins must be a positive whole number."
DIAMONDS_OVER_COINS = "A creator cannot earn more diamonds than the coins spent."

# ---------------------------------------------------------------- buying coins (Stripe)

PURCHASE_NOT_FOUND = "That purchase was not found."
PACKAGE_UNAVAILABLE = "That coin package is not available."
CHOOSE_PACKAGE_OR_AMOUNT = "Choose a coin package or enter an amount of coins."
PACKAGE_OR_AMOUNT_NOT_BOTH = "Choose a coin package or an amount of coins, not both."
CUSTOM_COINS_OUT_OF_RANGE = "Enter a whole number of coins from {min} to {max}."
PAYMENT_METHOD_INVALID = "The card details could not be read. Reload the page and try again."
PAYMENT_METHOD_NOT_THIS_PURCHASE = (
    "That card was not entered for this purchase. Reload the page and enter your card again."
)
CARD_DECLINED = "Your card was declined."
CARD_AUTHENTICATION_FAILED = "We could not authenticate your card, so it was not charged."
PAYMENT_OUTCOME_UNKNOWN = (
    "We could not reach the payment provider. If your card was charged, your coins will arrive shortly."
)
PAYMENT_PROVIDER_FAILED = "The payment provider could not complete the request. Please try again later."
WEBHOOK_SIGNATURE_MISSING = "Missing Stripe-Signature header."
WEBHOOK_SIGNATURE_INVALID = "The Stripe-Signature header does not match this payload."
WEBHOOK_PAYLOAD_INVALID = "The webhook body is not a Stripe event."
REFUND_REASON_REQUIRED = "Give a reason for the refund."
PURCHASE_NOT_REFUNDABLE = "Only a paid purchase that was not refunded yet can be refunded."
WALLET_FROZEN_FOR_RECEIVABLE = "Coins are owed after a refund or chargeback; buying coins covers them first."
PURCHASE_NEEDS_BANK = "Your bank needs to confirm this payment."
PURCHASE_CREDITED = "Payment received: {coins:,} coins added. Your balance is {balance:,} coins."
PURCHASE_ABANDONED = "This purchase was not completed. Nothing was charged."
PURCHASE_PROCESSING = "Your payment is being processed."
PURCHASE_ENTER_CARD = "Enter your card to pay."


class PaymentDeclined(CoinSiteError):
    """The card was declined or failed authentication; `message` is the card's reason."""

    code = "payment_declined"
    status = 402
    default_message = CARD_DECLINED


class PaymentProviderError(CoinSiteError):
    code = "payment_provider_error"
    status = 502
    default_message = PAYMENT_PROVIDER_FAILED


class PaymentProviderUnavailable(PaymentProviderError):
    """A transient failure (connection, rate limit): the outcome of a write is unknown."""

    code = "payment_provider_unavailable"
    status = 503
    default_message = PAYMENT_OUTCOME_UNKNOWN


class StripeObjectNotFound(NotFound):
    code = "stripe_object_not_found"
    default_message = "Stripe does not know that object."


class WebhookSignatureInvalid(CoinSiteError):
    code = "bad_signature"
    status = 400
    default_message = WEBHOOK_SIGNATURE_INVALID


# ---------------------------------------------------------------- staff moderation

REASON_REQUIRED = "Give a reason: it is kept in the audit log."
WALLET_NOT_FREEZABLE = "Only viewer wallets and creator diamond balances can be frozen."
WALLET_ALREADY_FROZEN = "This wallet is already frozen."
WALLET_NOT_FROZEN = "This wallet is not frozen."
WALLET_OWES_COINS = (
    "This wallet owes {coins} coins after a refund or chargeback; it unfreezes when they are covered."
)
ISSUE_ALREADY_RESOLVED = "This reconciliation issue is already resolved."
ADJUSTMENT_ACCOUNT_INVALID = "Only a viewer's coin wallet or a creator's diamond balance can be adjusted."
ADJUSTMENT_AMOUNT_INVALID = "Enter a whole, non-zero amount from -{max} to {max} (negative debits)."
ADJUSTMENT_NOT_PENDING = "Only a pending adjustment can be approved."
ADJUSTMENT_NOT_OPEN = "Only a pending or approved (not yet applied) adjustment can be rejected."
ADJUSTMENT_NOT_APPROVED = "Only an approved adjustment can be applied."
ADJUSTMENT_SELF_APPROVAL = "You requested this adjustment: a different staff member must approve it."
STAFF_PERMISSION_REQUIRED = "You don't have the permission for this staff action."
REPLAY_NOT_ALLOWED = "Replaying webhook events needs the permission to change them."
ADJUSTMENT_OWN_ACCOUNT = "You can't adjust, or approve an adjustment of, your own wallet or creator balance."
ADJUSTMENT_INSUFFICIENT = "The account holds less than this debit, so nothing moved."
REPORT_TARGET_TYPE_INVALID = "You can report a post, a live session or a user."
REPORT_TARGET_NOT_FOUND = "What you reported doesn't exist (any more)."
REPORT_REASON_INVALID = "Choose why you are reporting this."
REPORT_DETAILS_TOO_LONG = "Keep the details under 1,000 characters."
REPORT_OWN = "You can't report yourself or your own content."
REPORT_DUPLICATE = "You already reported this and our team hasn't finished looking at it yet."
REPORT_NOT_OPEN = "This report was already handled."
REPORT_SENT = "Thanks: your report was sent to our moderators."
REPORT_NOT_FOUND = "That report doesn't exist."
REPORT_CLOSE_STATUS_INVALID = "A report is closed as actioned or dismissed."
WALLET_NOT_FOUND = "That wallet doesn't exist."
ISSUE_NOT_FOUND = "That reconciliation issue doesn't exist."
WEBHOOK_EVENT_NOT_FOUND = "That webhook event doesn't exist."
ACCOUNT_NOT_FOUND = "That account doesn't exist."
ADJUSTMENT_NOT_FOUND = "That adjustment doesn't exist."
SELECTION_INVALID = "The selected rows are not valid ids."
