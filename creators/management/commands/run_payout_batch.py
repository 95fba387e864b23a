from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from creators.models import PayoutBatch
from creators.payouts.selectors import batch_progress
from creators.payouts.services import driving, planning
from wallet.errors import CoinSiteError


class Command(BaseCommand):
    help = (
        "Create the payout batch of a period (default: this ISO week, e.g. 2026-W48) with one payout for "
        "every eligible creator (approved, verified payout account, diamonds worth at least "
        "MINIMUM_PAYOUT_CENTS, no payout already open), then drive it here: each payout moves its diamonds "
        "to 'payouts in flight', asks the payout provider (idempotency key payout-<id>) and settles or "
        "returns them. A batch of that period that already exists is driven again instead (payouts left in "
        "flight by a crash are finished with the same keys). A batch above PAYOUT_APPROVAL_THRESHOLD_CENTS "
        "waits for approval in the admin. Safe to run at any time, repeatedly or concurrently with the "
        "weekly Celery task: each creator is paid once per batch. --enqueue hands the work to Celery "
        "instead; --drive-open drives every batch still processing and creates nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="Batch period label (default: this ISO week).")
        parser.add_argument("--enqueue", action="store_true", help="Create the batch, let Celery drive it.")
        parser.add_argument(
            "--drive-open", action="store_true", help="Only drive batches that are still processing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["drive_open"]:
            count = driving.drive_open_batches()
            self.stdout.write(f"Drove {count} open batch(es).")
            return
        try:
            if options["enqueue"]:
                creation = planning.create_payout_batch(period=options.get("period"))
                batch = creation.batch
                if batch.status == PayoutBatch.Status.PROCESSING:
                    planning.enqueue_batch_processing(batch_id=batch.pk)
            else:
                batch = driving.run_payout_batch(period=options.get("period")).batch
        except CoinSiteError as exc:
            raise CommandError(exc.message) from exc
        progress = batch_progress(batch=batch)
        self.stdout.write(
            f"Batch {batch.period} (#{batch.pk}) {batch.get_status_display()}: {batch.payouts_planned} payouts, "
            f"{batch.total_cents} cents for {batch.total_diamonds} diamonds; done {progress.done}, "
            f"failed {progress.failed}, pending {progress.open}, other {progress.other}."
        )
        if batch.status == PayoutBatch.Status.AWAITING_APPROVAL:
            self.stdout.write(self.style.WARNING("Above the approval threshold: approve it in the admin."))
