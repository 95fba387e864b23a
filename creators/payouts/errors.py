"""Every payout message (the payouts package, and the payout providers' refusals) and the few
payout-specific errors."""

from __future__ import annotations

from wallet.errors import CoinSiteError

NOT_A_CREATOR = "Only an approved creator can connect a payout account."
ACCOUNT_CONNECTED = "Payout account connected."
ACCOUNT_TO_VERIFY = " Staff will verify it before the next payout."
STRIPE_ACCOUNT_INVALID = "Enter your Stripe account id: it starts with acct_ followed by letters and digits."
LOCAL_DESTINATION_INVALID = "A local payout destination is 'local-' followed by letters, digits, '-' or '_'."
LOCAL_REFUSED = "The local payout provider refuses this destination (LOCAL_PAYOUT_FAIL_DESTINATIONS)."
KEY_REUSED = "This idempotency key was already used for a different transfer."
DESTINATION_TAKEN = "This payout account is already connected to another creator."
ACCOUNT_NOT_FOUND = "That payout account was not found."
BATCH_NOT_FOUND = "That payout batch was not found."
PAYOUT_NOT_FOUND = "That payout was not found."
BATCH_NOT_AWAITING = "Only a batch waiting for approval can be approved or rejected (this one is {status})."
OWN_BATCH = "You created or ran this batch: a different staff member must approve it."
OWN_PAYOUT_IN_BATCH = "This batch pays you: a different staff member must approve it."
OWN_PAYOUT_ACCOUNT = "You can't verify your own payout account."
APPROVE_NOT_ALLOWED = "You may not approve or reject payout batches."
VERIFY_NOT_ALLOWED = "You may not verify payout accounts."
REJECT_REASON_REQUIRED = "Give a reason for rejecting the batch."
PERIOD_INVALID = "A batch period is 1 to 40 letters, digits, '-', '_', '.' or ':'."
NOT_FAILED = "Only a failed payout can be retried (this one is {status})."
ACCOUNT_NOT_VERIFIED = "The creator's payout account is not verified, so the payout was not retried."
OTHER_PAYOUT_OPEN = "The creator has another payout waiting or in flight; retry this one after it ends."
SKIP_SUSPENDED = "The creator is not approved any more (status {status})."
SKIP_ACCOUNT_CHANGED = "The payout account changed or is not verified any more."
SKIP_INSUFFICIENT = "The creator's balance no longer covers this payout (a clawback or adjustment)."
SKIP_FROZEN = "The creator's diamond balance is frozen."
SKIP_DISPUTED = "A chargeback opened on coins that earned these diamonds; they are held until it closes."
NOT_SETTLED_YET = "Payout {id} is still in flight; this event is applied once it settles."
BANK_PAYOUT_FAILED = "Your bank rejected a payout ({code}). Update your bank details in Stripe; staff verify the account again."


class PayoutNotSettledYet(CoinSiteError):
    """An event about a transfer whose payout is still in flight: the webhook inbox retries it."""

    code = "payout_not_settled"
    status = 409
