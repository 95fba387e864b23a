"""Finance refunds purchases, cancels orders and resolves reconciliation issues from admin:
money moves through the services, each action leaves an audit row with its ledger
transaction; a moderator cannot do any of it, even with a crafted POST."""

from __future__ import annotations

import uuid

import pytest

from creators.models import MerchItem, Order
from creators.services import ShippingAddress, place_order
from wallet.models import (
    AuditEntry,
    CoinPackage,
    CoinPurchase,
    PurchaseRefund,
    ReconciliationIssue,
    Transaction,
    WebhookEvent,
)
from wallet.purchases import checkout
from wallet.selectors import coin_balance
from wallet.services import run_ledger_check
from wallet.tests.moderation.conftest import action_names, logged_in, page_text, run_action
from wallet.tests.purchases.conftest import CARD_OK, StripeJs

pytestmark = pytest.mark.django_db

ADDRESS = ShippingAddress(
    name="Ada Viewer", line1="1 Main St", city="Springfield", postcode="12345", country="US"
)


@pytest.fixture
def paid_purchase(stripe_settings, localstripe_url, make_user) -> CoinPurchase:
    """700 coins paid with a test card at the session's localstripe and credited at checkout."""
    package = CoinPackage.objects.create(name="700 coins", coins=700, price_cents=999)
    user = make_user()
    purchase = checkout.start_purchase(user=user, idempotency_key=str(uuid.uuid4()), package_id=package.pk)
    card = StripeJs(localstripe_url, stripe_settings.STRIPE_PUBLISHABLE_KEY).card_for(purchase, CARD_OK)
    state = checkout.confirm_purchase(purchase_id=purchase.pk, user=user, payment_method_id=card)
    assert state.status == "paid", state.message
    purchase.refresh_from_db()
    return purchase


def test_finance_refunds_a_purchase_and_the_clawback_is_in_the_audit_row(finance, paid_purchase):
    admin = logged_in(finance)
    url = "/admin/wallet/coinpurchase/"
    assert "refund_purchases" in action_names(admin, url)
    assert admin.get(f"{url}?q={paid_purchase.stripe_payment_intent_id}").context["cl"].result_count == 1

    done = run_action(
        admin, url, "refund_purchases", [paid_purchase], apply="Refund", reason="Bought twice", follow=True
    )

    assert f"Purchase #{paid_purchase.pk} refunded." in page_text(done)
    assert coin_balance(user_id=paid_purchase.user_id) == 0
    entry = AuditEntry.objects.get(action="purchase.refund")
    clawback = Transaction.objects.get(kind="refund")
    assert (entry.actor, entry.reason, entry.transaction_id) == (finance, "Bought twice", clawback.pk)
    assert entry.before == {"status": "paid", "refunded_cents": 0, "refunded_coins": 0}
    assert entry.after["status"] == "refunded" and entry.after["refunded_coins"] == 700
    assert run_ledger_check().ok


def test_a_moderator_cannot_refund_even_by_crafting_the_post(moderator, make_user):
    purchase = CoinPurchase.objects.create(
        user=make_user(), page_token=uuid.uuid4(), coins=700, amount_cents=999, currency="usd"
    )
    response = run_action(
        logged_in(moderator),
        "/admin/wallet/coinpurchase/",
        "refund_purchases",
        [purchase],
        apply="Refund",
        reason="x",
    )
    assert response.status_code == 403
    assert not PurchaseRefund.objects.exists() and not AuditEntry.objects.exists()


@pytest.fixture
def order(make_user, fund, creator) -> Order:
    item = MerchItem.objects.create(creator=creator, name="Hoodie", price_coins=300, stock=2)
    buyer = make_user()
    fund(buyer, 500)
    return place_order(
        buyer=buyer, item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="order-key-1"
    ).order


def test_finance_cancels_an_order_with_a_reason_and_the_reversal_is_audited(finance, order):
    admin = logged_in(finance)
    url = "/admin/creators/order/"
    asks = run_action(admin, url, "cancel_orders", [order])
    assert asks.status_code == 200 and "Reason" in page_text(asks)

    done = run_action(
        admin, url, "cancel_orders", [order], apply="Cancel orders", reason="Out of stock", follow=True
    )

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert "300 coins returned" in page_text(done)
    assert coin_balance(user_id=order.buyer_id) == 500
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.transaction_id) == (
        "order.cancel",
        finance,
        order.cancel_transaction_id,
    )
    assert (entry.before["status"], entry.after["status"]) == ("placed", "cancelled")
    again = run_action(
        admin, url, "cancel_orders", [order], apply="Cancel orders", reason="again", follow=True
    )
    assert "already cancelled" in page_text(again)
    assert AuditEntry.objects.count() == 1
    assert run_ledger_check().ok


def test_a_moderator_cannot_cancel_an_order(moderator, order):
    response = run_action(
        logged_in(moderator),
        "/admin/creators/order/",
        "cancel_orders",
        [order],
        apply="Cancel orders",
        reason="x",
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and coin_balance(user_id=order.buyer_id) == 200


def test_finance_resolves_a_reconciliation_issue_and_the_form_cannot_bypass_the_audit(finance, moderator):
    issue = ReconciliationIssue.objects.create(
        kind=ReconciliationIssue.Kind.UNKNOWN_CHARGE,
        dedupe_key="k1",
        source="webhook",
        stripe_object_id="ch_x",
    )
    url = "/admin/wallet/reconciliationissue/"
    refused = run_action(logged_in(moderator), url, "resolve_issues", [issue], apply="Resolve", reason="x")
    assert refused.status_code == 403
    admin = logged_in(finance)
    assert (
        admin.post(f"{url}{issue.pk}/change/", {"resolved": "on", "resolved_note": "sneaky"}).status_code
        == 403
    )

    run_action(
        admin, url, "resolve_issues", [issue], apply="Resolve", reason="Test charge from the dashboard"
    )

    issue.refresh_from_db()
    assert (issue.resolved, issue.resolved_note) == (True, "Test charge from the dashboard")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.before, entry.after) == (
        "reconciliation_issue.resolve",
        {"resolved": False, "resolved_note": ""},
        {"resolved": True, "resolved_note": "Test charge from the dashboard"},
    )


def test_finance_replays_a_webhook_event_and_the_replay_is_audited(finance, moderator):
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_test_replay",
        type="customer.created",
        payload={"id": "evt_test_replay", "type": "customer.created", "data": {"object": {}}},
        status=WebhookEvent.Status.FAILED,
        last_error="database went away",
    )
    url = "/admin/wallet/webhookevent/"
    refused = run_action(logged_in(moderator), url, "replay", [event], apply="Replay")
    assert refused.status_code == 403

    done = run_action(
        logged_in(finance), url, "replay", [event], apply="Replay", reason="DB back", follow=True
    )

    event.refresh_from_db()
    assert (event.status, event.last_error) == (WebhookEvent.Status.IGNORED, "")
    assert "Evt_test_replay: ignored" in page_text(done)  # admin messages are capitalised
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.reason) == ("webhook_event.replay", finance, "DB back")
    assert (entry.before["status"], entry.after["status"]) == ("failed", "ignored")
