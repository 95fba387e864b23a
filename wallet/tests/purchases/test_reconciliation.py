"""Reconciliation: credits what webhooks missed, closes what will never be paid, records
what does not match, and races the webhook and the checkout page without double credit."""

from __future__ import annotations

import datetime
import queue
import random
import time
from collections import Counter
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.concurrency import run_concurrently
from wallet import selectors, stripe_gateway
from wallet.models import CoinPurchase, ReconciliationIssue, ReconciliationRun, Transaction, WebhookEvent
from wallet.purchases import checkout, crediting
from wallet.purchases.reconciliation import run_reconciliation
from wallet.services import run_ledger_check
from wallet.tests.purchases.conftest import CARD_3DS, StripeJs, deliver, sign, start, succeeded_events


def _since(seconds_ago: int = 5) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds_ago)


def _credits() -> int:
    return Transaction.objects.filter(kind="purchase").count()


@pytest.mark.django_db(transaction=True)
def test_one_run_credits_50_purchases_whose_webhooks_were_dropped_and_three_more_add_nothing(
    make_user, paid_at_stripe_only
):
    since = _since()
    users = [make_user() for _ in range(10)]
    purchases = paid_at_stripe_only(users, 50)
    assert _credits() == 0

    first = run_reconciliation(events_since=since)
    assert (first.status, first.credited, first.failed, first.abandoned) == ("ok", 50, 0, 0)
    # (Events of earlier tests in this localstripe session may be recorded as unknown; none of ours.)
    assert not ReconciliationIssue.objects.filter(purchase__in=purchases).exists()
    assert first.events_checked >= 50
    balances = {user.pk: selectors.coin_balance(user_id=user.pk) for user in users}
    assert balances == {user.pk: 70 * 5 for user in users}

    for _ in range(3):
        again = run_reconciliation(events_since=since)
        assert (again.credited, again.failed, again.abandoned, again.issues) == (0, 0, 0, 0)
    assert _credits() == 50
    assert {user.pk: selectors.coin_balance(user_id=user.pk) for user in users} == balances
    assert CoinPurchase.objects.filter(pk__in=[p.pk for p in purchases], status="paid").count() == 50
    assert ReconciliationRun.objects.count() == 4
    assert run_ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_the_webhook_the_checkout_page_and_reconciliation_racing_credit_50_purchases_once_each(
    make_user, paid_at_stripe_only
):
    since = _since()
    users = [make_user() for _ in range(10)]
    purchases = paid_at_stripe_only(users, 50)
    payloads = succeeded_events([p.stripe_payment_intent_id for p in purchases], since=int(since.timestamp()))
    assert len(payloads) == 50

    tasks: list[tuple[str, Any]] = []
    for purchase in purchases:
        tasks.append(("webhook", sign(payloads[purchase.stripe_payment_intent_id])))
        tasks.append(("page", purchase))
    tasks += [("reconcile", None)] * 2
    random.Random(7).shuffle(tasks)
    work: queue.Queue[tuple[str, Any]] = queue.Queue()
    for task in tasks:
        work.put(task)
    page_answers: list[str] = []

    def worker(i: int) -> None:
        clients: dict[int, Client] = {}
        while True:
            try:
                kind, arg = work.get_nowait()
            except queue.Empty:
                return
            if kind == "webhook":
                assert deliver(Client(), *arg).status_code == 200
            elif kind == "page":
                client = clients.get(arg.user_id)
                if client is None:
                    client = clients[arg.user_id] = Client()
                    client.force_login(arg.user)
                response = client.get(f"/api/v1/coins/purchases/{arg.pk}/")
                assert response.status_code == 200
                page_answers.append(response.json()["status"])
            else:
                assert run_reconciliation(events_since=since).status == "ok"

    failures = [r for r in run_concurrently(16, worker) if isinstance(r, Exception)]

    assert not failures, failures
    assert page_answers == ["paid"] * 50  # the page always answers the credited state
    assert _credits() == 50
    assert CoinPurchase.objects.filter(status="paid").count() == 50
    assert {user.pk: selectors.coin_balance(user_id=user.pk) for user in users} == {
        user.pk: 350 for user in users
    }
    # Each purchase was credited by exactly one of the three, and each path's own count agrees.
    sources = Counter(CoinPurchase.objects.values_list("credit_source", flat=True))
    assert sum(sources.values()) == 50 and set(sources) <= {"webhook", "page", "reconciliation"}
    assert WebhookEvent.objects.filter(outcome="credited").count() == sources["webhook"]
    assert sum(ReconciliationRun.objects.values_list("credited", flat=True)) == sources["reconciliation"]
    assert not ReconciliationIssue.objects.filter(purchase__in=purchases).exists()
    assert run_ledger_check().ok


def test_reconciliation_closes_abandoned_and_failed_purchases(
    make_user, packages, stripe_js: StripeJs, stripe_settings
):
    user = make_user()
    never_paid = start(user, 70)  # the buyer left before entering a card

    waiting_for_bank = start(user, 350)  # left in the 3-D Secure box
    pm = stripe_js.card_for(waiting_for_bank, CARD_3DS)
    state = checkout.confirm_purchase(purchase_id=waiting_for_bank.pk, user=user, payment_method_id=pm)
    assert state.status == "requires_action"

    failed_bank = start(user, 700)  # failed 3-D Secure, the page never asked again
    pm = stripe_js.card_for(failed_bank, CARD_3DS)
    state = checkout.confirm_purchase(purchase_id=failed_bank.pk, user=user, payment_method_id=pm)
    stripe_js.authenticate(state.action_client_secret, success=False)

    fresh = start(user, 1400)  # just started: left alone

    CoinPurchase.objects.exclude(pk=fresh.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    run = run_reconciliation(events_since=_since())
    assert (run.credited, run.failed, run.abandoned) == (0, 1, 2)
    statuses = dict(CoinPurchase.objects.values_list("pk", "status"))
    assert statuses == {
        never_paid.pk: "abandoned",
        waiting_for_bank.pk: "abandoned",
        failed_bank.pk: "failed",
        fresh.pk: "pending",
    }
    # The abandoned PaymentIntent was canceled at Stripe, so a late 3-D Secure cannot charge it.
    waiting_for_bank.refresh_from_db()
    assert (
        stripe_gateway.retrieve_payment_intent(waiting_for_bank.stripe_payment_intent_id).status == "canceled"
    )
    assert selectors.coin_balance(user_id=user.pk) == 0


def test_reconciliation_credits_a_purchase_whose_payment_intent_id_was_never_stored(
    make_user, packages, stripe_settings
):
    """The server's confirm reached Stripe but its answer was lost: only the event knows."""
    user = make_user()
    purchase = start(user, 3500)
    intent = stripe_gateway.create_and_confirm_payment_intent(
        amount=purchase.amount_cents,
        currency=purchase.currency,
        payment_method="pm_card_visa",
        metadata=crediting.purchase_metadata(purchase),
        idempotency_key=f"purchase-{purchase.pk}",
    )
    CoinPurchase.objects.filter(pk=purchase.pk).update(status="processing")
    time.sleep(0.05)
    run = run_reconciliation(events_since=_since())
    assert run.credited == 1
    purchase.refresh_from_db()
    assert (purchase.status, purchase.stripe_payment_intent_id) == ("paid", intent.id)
    assert selectors.coin_balance(user_id=user.pk) == 3500


def test_reconciliation_records_mismatches_and_unknown_payment_intents_without_crediting(
    make_user, packages, stripe_settings
):
    user = make_user()
    purchase = start(user, 700)
    wrong_amount = stripe_gateway.create_and_confirm_payment_intent(
        amount=1,
        currency="usd",
        payment_method="pm_card_visa",
        metadata=crediting.purchase_metadata(purchase),
        idempotency_key="test-wrong-amount",
    )
    CoinPurchase.objects.filter(pk=purchase.pk).update(
        status="processing", stripe_payment_intent_id=wrong_amount.id
    )
    stranger = stripe_gateway.create_and_confirm_payment_intent(
        amount=500,
        currency="usd",
        payment_method="pm_card_visa",
        metadata={"purchase_id": "987654321", "user_id": str(user.pk)},
        idempotency_key="test-unknown",
    )
    not_ours = stripe_gateway.create_and_confirm_payment_intent(
        amount=500,
        currency="usd",
        payment_method="pm_card_visa",
        metadata={},
        idempotency_key="test-other-app",
    )
    ghost = start(user, 70)
    CoinPurchase.objects.filter(pk=ghost.pk).update(
        status="processing", stripe_payment_intent_id="pi_vanished"
    )

    run = run_reconciliation(events_since=_since())
    assert run.credited == 0
    ours = [wrong_amount.id, stranger.id, not_ours.id, "pi_vanished"]
    issues = set(
        ReconciliationIssue.objects.filter(stripe_object_id__in=ours).values_list(
            "kind", "stripe_object_id", "purchase_id"
        )
    )
    assert issues == {
        ("amount_mismatch", wrong_amount.id, purchase.pk),
        ("unknown_payment_intent", stranger.id, None),
        ("unknown_payment_intent", "pi_vanished", ghost.pk),
    }
    assert run.issues >= 3  # (events of earlier tests in this localstripe session may add some)
    assert run_reconciliation(events_since=_since()).issues == 0  # each is recorded once
    assert selectors.coin_balance(user_id=user.pk) == 0


def test_the_reconcile_stripe_command_reports_its_run(make_user, paid_at_stripe_only: Callable[..., Any]):
    paid_at_stripe_only([make_user()], 2)
    out = StringIO()
    call_command("reconcile_stripe", "--since-minutes", "1", stdout=out)
    assert "2 credited" in out.getvalue()
    assert "Reconciliation finished." in out.getvalue()
    out = StringIO()
    call_command("reconcile_stripe", "--since-minutes", "1", stdout=out)
    assert "0 credited" in out.getvalue()


def test_the_beat_schedule_runs_reconciliation_and_webhook_retries(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"wallet.tasks.reconcile_stripe", "wallet.tasks.retry_webhook_events"} <= tasks


def test_the_reconcile_task_runs_one_pass(make_user, paid_at_stripe_only: Callable[..., Any]):
    from wallet import tasks

    (purchase,) = paid_at_stripe_only([make_user()], 1)
    # Called as a plain function (the body the worker runs), not through a broker.
    result = tasks.reconcile_stripe()
    assert result["credited"] == 1
    purchase.refresh_from_db()
    assert purchase.credit_source == "reconciliation"
    assert tasks.retry_webhook_events() == 0
