"""The only module that imports `stripe`.

Each function wraps one Stripe call, reads the key and API base from settings at call time
(so tests and a real `sk_test_` key work unchanged), maps Stripe's errors to our domain
errors (card errors first, then transient ones, then the rest) and hands back our own
dataclasses, never SDK objects. Writes are sent with our idempotency keys
(`purchase-<id>`, `refund-<id>`) and no automatic network retry: a write whose outcome is
unknown is left to reconciliation instead of being sent again (localstripe ignores
idempotency keys, so a retried create there would charge twice).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from wallet import errors

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

READ_RETRIES = 2
# Pinned: from 2026-09-30.endive (the SDK's default) Stripe refuses `payment_method_types` on
# PaymentIntents and SetupIntents, and localstripe accepts nothing else. Dahlia still takes it.
DEFAULT_API_VERSION = "2026-07-29.dahlia"


@dataclass(frozen=True)
class SetupIntentInfo:
    id: str
    client_secret: str
    status: str
    payment_method: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    status: str
    amount: int
    currency: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    client_secret: str = ""
    charge_id: str | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class ChargeInfo:
    id: str
    payment_intent_id: str | None
    amount: int
    amount_refunded: int
    currency: str


@dataclass(frozen=True)
class DisputeInfo:
    id: str
    charge_id: str | None
    payment_intent_id: str | None
    amount: int
    currency: str
    status: str


@dataclass(frozen=True)
class RefundInfo:
    id: str
    amount: int
    status: str
    charge_id: str | None
    payment_intent_id: str | None = None


@dataclass(frozen=True)
class EventInfo:
    id: str
    type: str
    created: int
    data_object: Mapping[str, Any]
    payload: Mapping[str, Any]


# ---------------------------------------------------------------- client and error mapping

_clients: dict[tuple[str, str], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _client() -> stripe.StripeClient:
    api_key: str = settings.STRIPE_SECRET_KEY
    api_base: str = settings.STRIPE_API_BASE
    # Settings refuse a live key with DEBUG on at start-up; this guards a key swapped in at run time.
    if not (api_key.startswith("sk_test_") or (api_key.startswith("sk_live_") and not settings.DEBUG)):
        raise ImproperlyConfigured(
            "CoinSite talks to Stripe with an sk_test_ key, or sk_live_ in production."
        )
    key = (api_key, api_base)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = stripe.StripeClient(
                api_key,
                base_addresses={"api": api_base},
                stripe_version=settings.STRIPE_API_VERSION,
            )
    return client


def _decline_message(exc: stripe.CardError) -> str:
    message = exc.user_message or ""
    return message if isinstance(message, str) and message else errors.CARD_DECLINED


def _payment_intent_id_of(exc: stripe.StripeError) -> str | None:
    # Real Stripe puts the failed PaymentIntent in the error body; localstripe does not.
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    intent = (body.get("error") or {}).get("payment_intent")
    if isinstance(intent, dict):
        return str(intent.get("id") or "") or None
    return intent if isinstance(intent, str) and intent else None


def _mapped(call: Callable[P, R]) -> Callable[P, R]:
    name = call.__name__

    @functools.wraps(call)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return call(*args, **kwargs)
        except stripe.CardError as exc:
            logger.info("stripe %s declined", name, extra={"code": exc.code, "request_id": exc.request_id})
            raise errors.PaymentDeclined(
                _decline_message(exc),
                extra={"decline_code": exc.code or "", "payment_intent_id": _payment_intent_id_of(exc)},
            ) from exc
        except (stripe.RateLimitError, stripe.APIConnectionError) as exc:
            logger.warning("stripe %s unavailable: %s", name, exc, extra={"request_id": exc.request_id})
            raise errors.PaymentProviderUnavailable() from exc
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise errors.StripeObjectNotFound(extra={"call": name}) from exc
            logger.error("stripe %s rejected: %s", name, exc, extra={"request_id": exc.request_id})
            raise errors.PaymentProviderError(extra={"call": name}) from exc
        except stripe.StripeError as exc:
            logger.error("stripe %s failed: %s", name, exc, extra={"request_id": exc.request_id})
            if exc.http_status and exc.http_status >= 500:
                raise errors.PaymentProviderUnavailable() from exc
            raise errors.PaymentProviderError(extra={"call": name}) from exc

    return wrapper


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = obj.to_dict()
    return result


def _id_of(value: Any) -> str | None:
    """A Stripe reference that may be an id or an embedded (expanded) object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return None


# ---------------------------------------------------------------- shapes


def payment_intent_from_object(obj: Mapping[str, Any]) -> PaymentIntentInfo:
    error = obj.get("last_payment_error") or {}
    metadata = obj.get("metadata") or {}
    return PaymentIntentInfo(
        id=str(obj["id"]),
        status=str(obj.get("status") or ""),
        amount=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").lower(),
        metadata={str(k): str(v) for k, v in metadata.items()},
        client_secret=str(obj.get("client_secret") or ""),
        charge_id=_id_of(obj.get("latest_charge")),
        error_code=str(error.get("code") or "") if isinstance(error, Mapping) else "",
        error_message=str(error.get("message") or "") if isinstance(error, Mapping) else "",
    )


def setup_intent_from_object(obj: Mapping[str, Any]) -> SetupIntentInfo:
    metadata = obj.get("metadata") or {}
    return SetupIntentInfo(
        id=str(obj["id"]),
        client_secret=str(obj.get("client_secret") or ""),
        status=str(obj.get("status") or ""),
        payment_method=_id_of(obj.get("payment_method")),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def charge_from_object(obj: Mapping[str, Any]) -> ChargeInfo:
    return ChargeInfo(
        id=str(obj["id"]),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        amount=int(obj.get("amount") or 0),
        amount_refunded=int(obj.get("amount_refunded") or 0),
        currency=str(obj.get("currency") or "").lower(),
    )


def dispute_from_object(obj: Mapping[str, Any]) -> DisputeInfo:
    return DisputeInfo(
        id=str(obj["id"]),
        charge_id=_id_of(obj.get("charge")),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        amount=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").lower(),
        status=str(obj.get("status") or ""),
    )


def _event_from_dict(payload: Mapping[str, Any]) -> EventInfo:
    data = payload.get("data")
    if (
        payload.get("object") != "event"
        or not isinstance(payload.get("id"), str)
        or not isinstance(payload.get("type"), str)
        or not isinstance(data, Mapping)
        or not isinstance(data.get("object"), Mapping)
    ):
        raise errors.InvalidRequest(errors.WEBHOOK_PAYLOAD_INVALID)
    return EventInfo(
        id=payload["id"],
        type=payload["type"],
        created=int(payload.get("created") or 0),
        data_object=data["object"],
        payload=payload,
    )


# ---------------------------------------------------------------- calls


@_mapped
def create_setup_intent(*, purchase_id: int, idempotency_key: str) -> SetupIntentInfo:
    params: Any = {
        "payment_method_types": ["card"],
        "usage": "on_session",
        "metadata": {"purchase_id": str(purchase_id)},
    }
    intent = _client().v1.setup_intents.create(
        params=params, options={"idempotency_key": idempotency_key, "max_network_retries": 0}
    )
    return setup_intent_from_object(_as_dict(intent))


@_mapped
def retrieve_setup_intent(setup_intent_id: str) -> SetupIntentInfo:
    intent = _client().v1.setup_intents.retrieve(
        setup_intent_id, options={"max_network_retries": READ_RETRIES}
    )
    return setup_intent_from_object(_as_dict(intent))


@_mapped
def create_and_confirm_payment_intent(
    *, amount: int, currency: str, payment_method: str, metadata: Mapping[str, str], idempotency_key: str
) -> PaymentIntentInfo:
    """Create and confirm in one call. Raises PaymentDeclined with the card's reason."""
    # localstripe refuses description, receipt_email, automatic_payment_methods and return_url.
    params: Any = {
        "amount": amount,
        "currency": currency,
        "payment_method": payment_method,
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": dict(metadata),
    }
    intent = _client().v1.payment_intents.create(
        params=params, options={"idempotency_key": idempotency_key, "max_network_retries": 0}
    )
    return payment_intent_from_object(_as_dict(intent))


@_mapped
def retrieve_payment_intent(payment_intent_id: str) -> PaymentIntentInfo:
    intent = _client().v1.payment_intents.retrieve(
        payment_intent_id, options={"max_network_retries": READ_RETRIES}
    )
    return payment_intent_from_object(_as_dict(intent))


@_mapped
def cancel_payment_intent(payment_intent_id: str) -> PaymentIntentInfo:
    intent = _client().v1.payment_intents.cancel(payment_intent_id, options={"max_network_retries": 0})
    return payment_intent_from_object(_as_dict(intent))


@_mapped
def create_refund(*, payment_intent_id: str, amount: int, idempotency_key: str) -> RefundInfo:
    # Always an explicit amount: localstripe does not check what is left to refund.
    refund = _client().v1.refunds.create(
        params={"payment_intent": payment_intent_id, "amount": amount},
        options={"idempotency_key": idempotency_key, "max_network_retries": 0},
    )
    return _refund_info(refund)


def _refund_info(refund: Any) -> RefundInfo:
    return RefundInfo(
        id=refund.id,
        amount=int(refund.amount),
        status=str(refund.status or ""),
        charge_id=_id_of(refund.charge),
        payment_intent_id=_id_of(refund.payment_intent),
    )


@_mapped
def retrieve_refund(refund_id: str) -> RefundInfo:
    refund = _client().v1.refunds.retrieve(refund_id, options={"max_network_retries": READ_RETRIES})
    return _refund_info(refund)


@_mapped
def retrieve_dispute(dispute_id: str) -> DisputeInfo:
    dispute = _client().v1.disputes.retrieve(dispute_id, options={"max_network_retries": READ_RETRIES})
    return dispute_from_object(_as_dict(dispute))


@_mapped
def list_events(*, type: str, created_gte: int) -> list[EventInfo]:
    """Every event of `type` created at or after `created_gte` (a Unix time), in any order."""
    page = _client().v1.events.list(
        params={"type": type, "created": {"gte": created_gte}, "limit": 100},
        options={"max_network_retries": READ_RETRIES},
    )
    return [_event_from_dict(_as_dict(event)) for event in page.auto_paging_iter()]


def signature_header(*, payload: bytes, secret: str | None = None, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for `payload` (the SDK's own signing helper);
    the benchmarks and drills sign the events they deliver with it."""
    return str(
        stripe.WebhookSignature.generate_signature_header(
            payload.decode(), secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp
        )
    )


def verify_webhook(*, payload: bytes, signature: str) -> EventInfo:
    """Check the Stripe-Signature header (secret and tolerance from settings), then parse.

    Raises WebhookSignatureInvalid for unsigned, wrongly signed, altered or stale deliveries
    and InvalidRequest for a body that is not an event.
    """
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as exc:
        raise errors.WebhookSignatureInvalid() from exc
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.InvalidRequest(errors.WEBHOOK_PAYLOAD_INVALID) from exc
    if not isinstance(body, dict):
        raise errors.InvalidRequest(errors.WEBHOOK_PAYLOAD_INVALID)
    return _event_from_dict(body)


# ---------------------------------------------------------------- creator payouts (Stripe Connect)

# `PaymentProviderError.code` when Stripe refused a transfer itself (400: the destination cannot
# take it, the platform balance is short, ...): nothing moved, so the payout may fail and return.
TRANSFER_REFUSED = "transfer_refused"


@dataclass(frozen=True)
class TransferInfo:
    id: str
    amount: int
    amount_reversed: int
    currency: str
    destination: str | None
    reversed: bool
    transfer_group: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BankPayoutInfo:
    """A Stripe Payout (money from a Stripe balance to a bank account)."""

    id: str
    amount: int
    currency: str
    status: str
    failure_code: str
    failure_message: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def transfer_from_object(obj: Mapping[str, Any]) -> TransferInfo:
    metadata = obj.get("metadata") or {}
    return TransferInfo(
        id=str(obj["id"]),
        amount=int(obj.get("amount") or 0),
        amount_reversed=int(obj.get("amount_reversed") or 0),
        currency=str(obj.get("currency") or "").lower(),
        destination=_id_of(obj.get("destination")),
        reversed=bool(obj.get("reversed")),
        transfer_group=str(obj.get("transfer_group") or ""),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def bank_payout_from_object(obj: Mapping[str, Any]) -> BankPayoutInfo:
    metadata = obj.get("metadata") or {}
    return BankPayoutInfo(
        id=str(obj["id"]),
        amount=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").lower(),
        status=str(obj.get("status") or ""),
        failure_code=str(obj.get("failure_code") or ""),
        failure_message=str(obj.get("failure_message") or ""),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


@_mapped
def create_transfer(
    *,
    amount: int,
    currency: str,
    destination: str,
    transfer_group: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> TransferInfo:
    """Transfer `amount` from the platform balance to a connected account, once per key.
    Raises PaymentProviderError with code TRANSFER_REFUSED when Stripe refuses it (400)."""
    params: Any = {
        "amount": amount,
        "currency": currency,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": dict(metadata),
    }
    try:
        transfer = _client().v1.transfers.create(
            params=params, options={"idempotency_key": idempotency_key, "max_network_retries": 0}
        )
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 400:
            raise
        logger.info("stripe transfer refused", extra={"code": exc.code, "request_id": exc.request_id})
        message = exc.error.message if exc.error is not None and exc.error.message else str(exc)
        raise errors.PaymentProviderError(
            message[:500], code=TRANSFER_REFUSED, extra={"stripe_code": exc.code or ""}
        ) from exc
    return transfer_from_object(_as_dict(transfer))


@_mapped
def find_transfer(*, transfer_group: str) -> TransferInfo | None:
    """The transfer created for `transfer_group` (we use one group per payout attempt), if any."""
    page = _client().v1.transfers.list(
        params={"transfer_group": transfer_group, "limit": 10},
        options={"max_network_retries": READ_RETRIES},
    )
    found = [transfer_from_object(_as_dict(t)) for t in page.data]
    found = [t for t in found if t.transfer_group == transfer_group]
    return found[0] if found else None


@_mapped
def retrieve_transfer(transfer_id: str) -> TransferInfo:
    transfer = _client().v1.transfers.retrieve(transfer_id, options={"max_network_retries": READ_RETRIES})
    return transfer_from_object(_as_dict(transfer))


@_mapped
def reverse_transfer(
    *, transfer_id: str, amount: int, metadata: Mapping[str, str], idempotency_key: str
) -> int:
    """Take `amount` of a transfer back from the connected account; returns the amount reversed."""
    params: Any = {"amount": amount, "metadata": dict(metadata)}
    reversal = _client().v1.transfers.reversals.create(
        transfer_id, params=params, options={"idempotency_key": idempotency_key, "max_network_retries": 0}
    )
    return int(reversal.amount)
