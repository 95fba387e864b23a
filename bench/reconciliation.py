"""Reconciliation after dropped webhooks: N purchases paid at a real localstripe (PaymentIntents
created and confirmed there with our metadata; no webhook registered, so none arrives) are
left processing; one `run_reconciliation` must credit every one. Baseline: the bare
PaymentIntent.retrieve rate (one client, as reconciliation calls Stripe) against the same
localstripe, scaled to N: what re-fetching each purchase would cost."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.harness import Row

CREATE_THREADS = 4
COINS, CENTS = 70, 99


@contextmanager
def localstripe() -> Iterator[str]:
    """A fresh in-memory localstripe (lists indexed, see bench.stripe_stand_in) on a free
    loopback port, with this process's Stripe calls pointed at it."""
    from django.conf import settings

    from bench import stripe_stand_in
    from tools.localstripe_server import free_port, stop_localstripe

    port = free_port()
    proc = stripe_stand_in.start(port, settings.STRIPE_WEBHOOK_SECRET)
    url = f"http://127.0.0.1:{port}"
    saved = settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY
    settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = url, "sk_test_localstripe"
    try:
        yield url
    finally:
        settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = saved
        stop_localstripe(proc)


def paid_purchases_without_webhook(n: int, buyers: int = 100) -> list[Any]:
    """`n` purchases whose PaymentIntent succeeded at localstripe while we recorded only
    "processing" (the browser finished 3-D Secure and went away; the webhook was dropped)."""
    from drills.payments import pay_at_stripe
    from wallet import services
    from wallet.models import CoinPurchase, User

    tag = uuid.uuid4().hex[:8]
    users = User.objects.bulk_create(
        [
            User(
                email=f"bench-payer-{tag}-{i}@bench.local",
                date_of_birth=datetime.date(1990, 1, 1),
                password="!",
            )
            for i in range(buyers)
        ]
    )
    # Made in bulk (no User.save): open their coin wallets here.
    services.open_coin_accounts(user_ids=[u.pk for u in users])
    purchases = CoinPurchase.objects.bulk_create(
        [
            CoinPurchase(
                user=users[i % buyers],
                page_token=uuid.uuid4(),
                coins=COINS,
                amount_cents=CENTS,
                currency="usd",
            )
            for i in range(n)
        ]
    )

    pay_at_stripe(purchases, threads=CREATE_THREADS)
    for purchase in purchases:
        purchase.status = CoinPurchase.Status.PROCESSING
    CoinPurchase.objects.bulk_update(purchases, ["status"], batch_size=1000)
    return purchases


def run(quick: bool) -> list[Row]:
    from django.utils import timezone

    from wallet import stripe_gateway
    from wallet.models import CoinPurchase
    from wallet.purchases.reconciliation import run_reconciliation
    from wallet.services import run_ledger_check

    n = 1_000 if quick else 10_000
    sample = min(n, 2_000)
    with localstripe():
        started = timezone.now()
        t0 = time.perf_counter()
        purchases = paid_purchases_without_webhook(n)
        setup = time.perf_counter() - t0

        def retrieve(some: list[Any]) -> float:
            t0 = time.perf_counter()
            for purchase in some:
                stripe_gateway.retrieve_payment_intent(purchase.stripe_payment_intent_id)
            return time.perf_counter() - t0

        # Half the retrieves before the run and half after, so both see the machine's load alike.
        retrieving = retrieve(purchases[: sample // 2])
        t0 = time.perf_counter()
        recon = run_reconciliation(events_since=started - datetime.timedelta(minutes=1))
        seconds = time.perf_counter() - t0
        retrieving += retrieve(purchases[sample // 2 : sample])
        retrieve_rate = sample / retrieving
    credited = CoinPurchase.objects.filter(
        pk__in=[p.pk for p in purchases], status=CoinPurchase.Status.PAID, credit_source="reconciliation"
    ).count()
    check = run_ledger_check()
    return [
        Row(
            f"reconcile {n:,} dropped webhooks (1 run)",
            seconds,
            "s",
            f"{n:,} x PaymentIntent.retrieve",
            n / retrieve_rate,
            note=f"{credited:,}/{n:,} credited, {n / seconds:,.0f}/s; retrieve {retrieve_rate:,.0f}/s "
            f"(timed on {sample:,}); events {recon.events_checked:,}, re-fetched {recon.purchases_checked:,}; "
            f"ledger check {'ok' if check.ok else 'FAILED'}; setup {setup:.0f} s",
        ),
    ]
