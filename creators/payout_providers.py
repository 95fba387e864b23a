"""The one interface payouts go through, and its two providers.

- `stripe_connect`: a Stripe Connect Transfer to the creator's `acct_...` (the call itself
  lives in `wallet.stripe_gateway`, the only module that imports `stripe`).
- `local`: an in-project stand-in for offline runs and tests. It records every transfer and
  its idempotency key in `LocalTransfer` (UNIQUE key: a repeated request returns the first
  answer), refuses destinations listed in `LOCAL_PAYOUT_FAIL_DESTINATIONS` ("*" = all), and
  can be slowed down (`LOCAL_PAYOUT_DELAY_MS`) so a drill's kills land mid-transfer.

Every provider dedupes on the idempotency key: sending the same key twice moves money once
and answers the same way. That is what lets a payout stuck in flight after a crash be driven
again safely. A provider answers `TransferResult(ok=True)` (money moved), `ok=False`
(definitively refused: nothing moved, the diamonds may be returned), or raises
`PayoutProviderUnavailable` when the outcome is unknown (the payout stays in flight and is
driven again later with the same key).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from creators.models import LocalTransfer, PayoutAccount
from creators.payouts.errors import (
    KEY_REUSED,
    LOCAL_DESTINATION_INVALID,
    LOCAL_REFUSED,
    STRIPE_ACCOUNT_INVALID,
)
from wallet import errors, stripe_gateway
from wallet.errors import CoinSiteError

STRIPE_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]{6,60}$")
LOCAL_DESTINATION = re.compile(r"^local-[A-Za-z0-9_-]{1,60}$")


class PayoutProviderUnavailable(CoinSiteError):
    """The provider could not be reached or answered with a server error: the transfer may or
    may not have happened. Drive the payout again later with the same idempotency key."""

    code = "payout_provider_unavailable"
    status = 503
    default_message = "The payout provider could not be reached; the payout will be tried again."


class PayoutProviderError(CoinSiteError):
    """The provider rejected the request itself (configuration, a reused key with other
    content): not a refusal of the creator's account, so nothing is returned automatically."""

    code = "payout_provider_error"
    status = 502
    default_message = "The payout provider rejected the request."


@dataclass(frozen=True)
class TransferResult:
    ok: bool
    reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


class PayoutProvider(Protocol):
    name: str

    def validate_destination(self, destination: str) -> str:
        """The normalised destination, or InvalidRequest with a message for the form."""
        ...

    def transfer(
        self, *, payout_id: int, destination: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> TransferResult:
        """Move `amount_cents` to `destination` once per `idempotency_key`."""
        ...

    def find_transfer(self, *, idempotency_key: str) -> TransferResult | None:
        """The outcome of an earlier request with this key, or None if the provider has none.

        Asked before re-sending a payout that was already in flight: Stripe forgets
        idempotency keys after 24 hours, so a re-drive looks first instead of trusting them."""
        ...


class LocalProvider:
    name = PayoutAccount.Provider.LOCAL.value

    def validate_destination(self, destination: str) -> str:
        destination = destination.strip()
        if not LOCAL_DESTINATION.match(destination):
            raise errors.InvalidRequest(LOCAL_DESTINATION_INVALID)
        return destination

    def _refuses(self, destination: str) -> bool:
        failing = settings.LOCAL_PAYOUT_FAIL_DESTINATIONS
        return "*" in failing or destination in failing

    def _pause(self) -> None:
        delay = settings.LOCAL_PAYOUT_DELAY_MS
        if delay > 0:
            time.sleep(delay / 2000)

    def transfer(
        self, *, payout_id: int, destination: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> TransferResult:
        # Half the delay before recording and half after, so a crash can land on either side of
        # "the money moved", as with a real provider's network round trip.
        self._pause()
        refused = self._refuses(destination)
        try:
            with transaction.atomic():
                row = LocalTransfer.objects.create(
                    idempotency_key=idempotency_key,
                    payout_id=payout_id,
                    destination=destination,
                    amount_cents=amount_cents,
                    currency=currency,
                    status=LocalTransfer.Status.FAILED if refused else LocalTransfer.Status.PAID,
                    failure_code="local_refused" if refused else "",
                )
        except IntegrityError:
            row = LocalTransfer.objects.get(idempotency_key=idempotency_key)
            if (row.payout_id, row.destination, row.amount_cents, row.currency) != (
                payout_id,
                destination,
                amount_cents,
                currency,
            ):
                raise PayoutProviderError(KEY_REUSED, extra={"idempotency_key": idempotency_key}) from None
        self._pause()
        return self._result(row)

    def find_transfer(self, *, idempotency_key: str) -> TransferResult | None:
        row = LocalTransfer.objects.filter(idempotency_key=idempotency_key).first()
        return self._result(row) if row is not None else None

    @staticmethod
    def _result(row: LocalTransfer) -> TransferResult:
        if row.status == LocalTransfer.Status.PAID:
            return TransferResult(ok=True, reference=row.reference)
        return TransferResult(
            ok=False, reference=row.reference, failure_code=row.failure_code, failure_message=LOCAL_REFUSED
        )


class StripeConnectProvider:
    name = PayoutAccount.Provider.STRIPE_CONNECT.value

    def validate_destination(self, destination: str) -> str:
        destination = destination.strip()
        if not STRIPE_ACCOUNT_ID.match(destination):
            raise errors.InvalidRequest(STRIPE_ACCOUNT_INVALID)
        return destination

    def transfer(
        self, *, payout_id: int, destination: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> TransferResult:
        try:
            info = stripe_gateway.create_transfer(
                amount=amount_cents,
                currency=currency,
                destination=destination,
                transfer_group=idempotency_key,
                metadata={"coinsite_payout_id": str(payout_id), "coinsite_key": idempotency_key},
                idempotency_key=idempotency_key,
            )
        except errors.PaymentProviderUnavailable as exc:
            raise PayoutProviderUnavailable() from exc
        except errors.PaymentProviderError as exc:
            if exc.code == stripe_gateway.TRANSFER_REFUSED:
                return TransferResult(
                    ok=False,
                    failure_code=str(exc.extra.get("stripe_code") or "refused"),
                    failure_message=exc.message,
                )
            raise PayoutProviderError(exc.message, extra=exc.extra) from exc
        return TransferResult(ok=True, reference=info.id)

    def find_transfer(self, *, idempotency_key: str) -> TransferResult | None:
        try:
            info = stripe_gateway.find_transfer(transfer_group=idempotency_key)
        except errors.PaymentProviderUnavailable as exc:
            raise PayoutProviderUnavailable() from exc
        except errors.PaymentProviderError as exc:
            raise PayoutProviderError(exc.message, extra=exc.extra) from exc
        return TransferResult(ok=True, reference=info.id) if info is not None else None


PROVIDERS: dict[str, PayoutProvider] = {
    LocalProvider.name: LocalProvider(),
    StripeConnectProvider.name: StripeConnectProvider(),
}


def get_provider(name: str) -> PayoutProvider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise PayoutProviderError(f"Unknown payout provider {name!r}.") from None


def configured_provider() -> PayoutProvider:
    """The provider new payout accounts connect to (`PAYOUT_PROVIDER`)."""
    return get_provider(settings.PAYOUT_PROVIDER)
