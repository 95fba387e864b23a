"""The Stripe webhook inbox.

A verified delivery is stored once (`stripe_event_id` is unique; one INSERT ... ON CONFLICT
statement stores it or returns the stored row) and committed, then processed in its own
transaction under the event's row lock (taken by the UPDATE that counts the attempt), so a
repeated delivery of a processed event costs that one statement, and one that arrives while
the first is being processed waits and then finds it processed. Handlers are chosen from an explicit dict; an unknown type is recorded and
ignored. A failed event keeps `last_error` and is retried by `retry_webhook_events`.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from wallet import stripe_gateway
from wallet.models import WebhookEvent
from wallet.purchases import crediting, refunds

logger = logging.getLogger(__name__)

SOURCE = "webhook"
MAX_ATTEMPTS = 10

# Outcome of an event sent on behalf of a connected account that no Connect handler takes.
CONNECTED_ACCOUNT_OUTCOME = "from a connected account: not a platform event"
NOT_A_PAYMENT_INTENT_OUTCOME = "no payment intent id"

Handler = Callable[[Mapping[str, Any]], str]


def object_id(obj: Mapping[str, Any], prefix: str) -> str | None:
    """The event object's Stripe id when it is one of that kind (`pi_`, `re_`, `tr_`...), else
    None: handlers re-read the object from Stripe by this id, never trust the rest."""
    found = obj.get("id")
    if not isinstance(found, str) or not found.startswith(prefix) or len(found) > 255:
        return None
    return found


# Handlers of events from connected accounts (Stripe sets the event's `account`) get that account too.
ConnectHandler = Callable[[Mapping[str, Any], str], str]


def _payment_intent_changed(obj: Mapping[str, Any]) -> str:
    intent_id = object_id(obj, "pi_")
    if intent_id is None:
        return NOT_A_PAYMENT_INTENT_OUTCOME
    return str(crediting.apply_payment_intent_from_stripe(payment_intent_id=intent_id, source=SOURCE))


def _charge_refunded(obj: Mapping[str, Any]) -> str:
    return refunds.apply_charge_refunded(charge=stripe_gateway.charge_from_object(obj), source=SOURCE)


def _dispute_created(obj: Mapping[str, Any]) -> str:
    return refunds.apply_dispute_event(
        dispute=stripe_gateway.dispute_from_object(obj), closed=False, source=SOURCE
    )


def _dispute_closed(obj: Mapping[str, Any]) -> str:
    return refunds.apply_dispute_closed(dispute=stripe_gateway.dispute_from_object(obj), source=SOURCE)


def _dispute_updated(obj: Mapping[str, Any]) -> str:
    return refunds.apply_dispute_updated(dispute=stripe_gateway.dispute_from_object(obj), source=SOURCE)


def _dispute_funds_withdrawn(obj: Mapping[str, Any]) -> str:
    return refunds.apply_dispute_funds_withdrawn(
        dispute=stripe_gateway.dispute_from_object(obj), source=SOURCE
    )


def _dispute_funds_reinstated(obj: Mapping[str, Any]) -> str:
    return refunds.apply_dispute_funds_reinstated(
        dispute=stripe_gateway.dispute_from_object(obj), source=SOURCE
    )


def _refund_changed(obj: Mapping[str, Any]) -> str:
    refund_id = object_id(obj, "re_")
    if refund_id is None:
        return "no refund id"
    if obj.get("status") != "failed":
        return "no_change"  # only a failure moves coins; it is confirmed with Stripe before it does
    return refunds.apply_refund_failed(refund_id=refund_id, source=SOURCE)


EVENT_HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _payment_intent_changed,
    "payment_intent.payment_failed": _payment_intent_changed,
    "payment_intent.canceled": _payment_intent_changed,
    "payment_intent.processing": _payment_intent_changed,
    "payment_intent.requires_action": _payment_intent_changed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
    "charge.dispute.updated": _dispute_updated,
    "charge.dispute.funds_withdrawn": _dispute_funds_withdrawn,
    "charge.dispute.funds_reinstated": _dispute_funds_reinstated,
    "charge.refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    "refund.updated": _refund_changed,
}


# Only these event types are taken from connected accounts; any other event carrying an
# `account` (a creator's own charges, refunds, disputes) is recorded and ignored.
CONNECT_EVENT_HANDLERS: dict[str, ConnectHandler] = {}


def register_connect_event_handler(event_type: str, handler: ConnectHandler) -> None:
    """Let another app handle an event type sent from connected accounts (creators' payouts)."""
    current = CONNECT_EVENT_HANDLERS.get(event_type)
    if current is not None and current is not handler:
        raise ValueError(f"{event_type} already has a connected-account handler: {current!r}")
    CONNECT_EVENT_HANDLERS[event_type] = handler


def _dispatch(event: WebhookEvent) -> str | None:
    """The handler's outcome, or None when no handler takes this event."""
    obj = event.payload["data"]["object"]
    account = event.payload.get("account")
    if account:
        connect_handler = CONNECT_EVENT_HANDLERS.get(event.type)
        if connect_handler is None or not isinstance(account, str):
            return None
        return connect_handler(obj, account)
    handler = EVENT_HANDLERS.get(event.type)
    return None if handler is None else handler(obj)


def register_event_handler(event_type: str, handler: Handler) -> None:
    """Let another app handle an event type (wallet imports no other app: creators registers
    its payout events from its AppConfig.ready). Registering the same handler again is a no-op."""
    current = EVENT_HANDLERS.get(event_type)
    if current is not None and current is not handler:
        raise ValueError(f"{event_type} already has a handler: {current!r}")
    EVENT_HANDLERS[event_type] = handler


# The delivery stored in one statement: the new row, or (a repeated delivery) the stored one. A
# row inserted by a concurrent delivery that had not committed when this statement started is not
# seen by its SELECT: then no row comes back and the caller reads it again.
_STORE_SQL = """
WITH new AS (
    INSERT INTO wallet_webhookevent
        (stripe_event_id, type, payload, status, outcome, attempts, last_error, received_at)
    VALUES (%(id)s, %(type)s, %(payload)s::jsonb, %(received)s, '', 0, '', %(now)s)
    ON CONFLICT (stripe_event_id) DO NOTHING
    RETURNING id, type, status, outcome, attempts, received_at, processed_at
)
SELECT id, type, status, outcome, attempts, received_at, processed_at FROM new
UNION ALL
SELECT id, type, status, outcome, attempts, received_at, processed_at
  FROM wallet_webhookevent
 WHERE stripe_event_id = %(id)s AND NOT EXISTS (SELECT 1 FROM new)
"""

DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)


def receive_webhook(*, payload: bytes, signature: str) -> WebhookEvent:
    """Verify and store a delivery (once per event id), committed before anything processes it;
    one statement, which also returns the stored row of a repeated delivery. Raises
    WebhookSignatureInvalid or InvalidRequest before anything is stored. The returned row
    carries this delivery's payload."""
    event = stripe_gateway.verify_webhook(payload=payload, signature=signature)
    event_id, event_type = event.id[:255], event.type[:100]
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL,
            {
                "id": event_id,
                "type": event_type,
                "payload": json.dumps(dict(event.payload)),
                "received": WebhookEvent.Status.RECEIVED.value,
                "now": timezone.now(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return WebhookEvent.objects.get(stripe_event_id=event_id)
    pk, stored_type, status, outcome, attempts, received_at, processed_at = row
    return WebhookEvent(
        pk=pk,
        stripe_event_id=event_id,
        type=stored_type,
        payload=dict(event.payload),
        status=status,
        outcome=outcome,
        attempts=attempts,
        received_at=received_at,
        processed_at=processed_at,
    )


def _claim(event_id: int) -> WebhookEvent | None:
    """Lock an unprocessed event and count the attempt (one statement); None when it is done."""
    claimed = list(
        WebhookEvent.objects.raw(
            "UPDATE wallet_webhookevent SET attempts = attempts + 1"
            " WHERE id = %s AND status NOT IN (%s, %s) RETURNING *",
            [event_id, *(status.value for status in DONE)],
        )
    )
    return claimed[0] if claimed else None


def process_webhook_event(*, event_id: int) -> WebhookEvent:
    """Apply a stored event once. Safe to call any number of times, concurrently."""
    try:
        with transaction.atomic():
            event = _claim(event_id)
            if event is None:
                return WebhookEvent.objects.get(pk=event_id)  # processed meanwhile (or unknown)
            outcome = _dispatch(event)
            if outcome is None:
                event.status = WebhookEvent.Status.IGNORED
                event.outcome = (
                    CONNECTED_ACCOUNT_OUTCOME if event.payload.get("account") else "unhandled type"
                )
            else:
                event.outcome = outcome[:100]
                event.status = WebhookEvent.Status.PROCESSED
            event.last_error = ""
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "outcome", "last_error", "processed_at"])
            return event
    except Exception as exc:
        # Any failure is recorded on the inbox row for staff and the retry task; the delivery
        # itself is already stored, so nothing is lost.
        logger.exception("webhook event %s failed", event_id)
        WebhookEvent.objects.filter(pk=event_id).exclude(status=WebhookEvent.Status.PROCESSED).update(
            status=WebhookEvent.Status.FAILED,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            attempts=F("attempts") + 1,
        )
        return WebhookEvent.objects.get(pk=event_id)


def replay_webhook_event(*, event_id: int) -> WebhookEvent:
    """Staff replay: clear the old error, then process again (a processed event stays processed)."""
    WebhookEvent.objects.filter(pk=event_id, status=WebhookEvent.Status.FAILED).update(
        status=WebhookEvent.Status.RECEIVED, last_error=""
    )
    return process_webhook_event(event_id=event_id)


def retry_webhook_events(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Process stored events that are still unprocessed (failed or interrupted); returns how many."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    ids = list(
        WebhookEvent.objects.filter(
            status__in=[WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED],
            received_at__lt=cutoff,
            attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in ids:
        process_webhook_event(event_id=event_id)
    return len(ids)


def handle_delivery(*, payload: bytes, signature: str) -> WebhookEvent:
    """The endpoint's one call: verify and store the delivery, then process it inline (a
    duplicate finds the stored row and returns it as it is)."""
    event = receive_webhook(payload=payload, signature=signature)
    if event.status in DONE:
        return event  # a repeated delivery: the one statement above was all it cost
    return process_webhook_event(event_id=event.pk)
