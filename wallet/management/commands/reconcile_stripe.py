from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from wallet.errors import PaymentProviderError
from wallet.models import ReconciliationIssue
from wallet.purchases.reconciliation import run_reconciliation


class Command(BaseCommand):
    help = (
        "Reconcile coin purchases with Stripe (the same pass the Celery beat task "
        "`wallet.tasks.reconcile_stripe` runs). It lists `payment_intent.succeeded` events since the "
        "previous successful run (minus 10 minutes; 72 hours on the first run, or --since-minutes) and "
        "credits any purchase whose webhook never arrived; re-fetches the PaymentIntent of every pending "
        "or processing purchase and credits, fails or keeps it accordingly; closes purchases older than "
        "the abandon age (--abandon-after-minutes, default 60) that have no PaymentIntent or whose "
        "PaymentIntent is canceled or still waits for a card or 3-D Secure (canceling it at Stripe "
        "first). Coins are credited exactly once (the purchase row lock and the ledger key "
        "purchase-<id>), only when status, amount, currency and metadata match; mismatches and "
        "PaymentIntents that name no purchase are stored as reconciliation issues for staff (admin: "
        "Reconciliation issues). Each run is stored with its counts. Safe to run at any time and any "
        "number of times. Exits non-zero if Stripe could not be reached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since-minutes",
            type=int,
            help="list Stripe events created in the last N minutes instead of since the previous run",
        )
        parser.add_argument(
            "--abandon-after-minutes",
            type=int,
            help="close open purchases older than N minutes (default 60, PURCHASE_ABANDON_MINUTES)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since_minutes"] is not None:
            if options["since_minutes"] < 0:
                raise CommandError("--since-minutes must be 0 or more.")
            since = timezone.now() - datetime.timedelta(minutes=options["since_minutes"])
        abandon_after = None
        if options["abandon_after_minutes"] is not None:
            if options["abandon_after_minutes"] < 0:
                raise CommandError("--abandon-after-minutes must be 0 or more.")
            abandon_after = datetime.timedelta(minutes=options["abandon_after_minutes"])
        try:
            run = run_reconciliation(events_since=since, abandon_after=abandon_after)
        except PaymentProviderError as exc:
            raise CommandError(f"Reconciliation failed: {exc.message}") from exc
        self.stdout.write(
            f"Checked {run.events_checked} events and {run.purchases_checked} open purchases: "
            f"{run.credited} credited, {run.failed} failed, {run.abandoned} abandoned, {run.issues} new issues."
        )
        for issue in ReconciliationIssue.objects.filter(run=run).order_by("pk"):
            self.stdout.write(
                f"  {issue.kind}: {issue.stripe_object_id} purchase={issue.purchase_id} "
                f"expected={issue.expected!r} found={issue.found!r}"
            )
        self.stdout.write(self.style.SUCCESS("Reconciliation finished."))
