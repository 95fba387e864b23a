"""Reads of payouts: a creator's payouts and totals, a batch's progress."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum

from creators.models import Creator, Payout, PayoutAccount, PayoutBatch
from wallet.earnings import hold_cutoff
from wallet.services import diamond_account_id


@dataclass(frozen=True)
class PayoutTotals:
    """What left a creator's balance through payouts: `paid_*` reached the creator (settled,
    less anything reversed), `in_flight_*` is on its way."""

    paid_diamonds: int
    paid_cents: int
    in_flight_diamonds: int
    in_flight_cents: int
    count_paid: int


def staff_dashboard_figures(since: datetime.datetime) -> dict[str, int]:
    """What waits for staff in payouts, for the staff dashboard (not bound to `since`)."""
    return {
        "payout_batches_waiting": PayoutBatch.objects.filter(
            status=PayoutBatch.Status.AWAITING_APPROVAL
        ).count(),
        "payouts_failed": Payout.objects.filter(status=Payout.Status.FAILED).count(),
    }


def payout_totals(*, creator: Creator) -> PayoutTotals:
    rows = Payout.objects.filter(creator=creator)
    paid = rows.filter(status__in=Payout.DONE_STATUSES).aggregate(
        diamonds=Sum(F("diamonds") - F("returned_diamonds")),
        cents=Sum(F("amount_cents") - F("reversed_cents")),
        count=Count("id", filter=Q(status=Payout.Status.PAID)),
    )
    moving = rows.filter(status=Payout.Status.IN_FLIGHT).aggregate(
        diamonds=Sum("diamonds"), cents=Sum("amount_cents")
    )
    return PayoutTotals(
        paid_diamonds=int(paid["diamonds"] or 0),
        paid_cents=int(paid["cents"] or 0),
        in_flight_diamonds=int(moving["diamonds"] or 0),
        in_flight_cents=int(moving["cents"] or 0),
        count_paid=int(paid["count"] or 0),
    )


def payouts_of(*, creator: Creator, limit: int = 100) -> QuerySet[Payout]:
    return Payout.objects.filter(creator=creator).select_related("batch").order_by("-id")[:limit]


def payout_account_of(*, creator: Creator) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(creator=creator).first()


@dataclass(frozen=True)
class NextPayout:
    """What the next batch would pay the creator now: the payable diamonds' whole `cents`, the
    `diamonds` covering them, and whether the batch would take the creator (`eligible`)."""

    cents: int
    diamonds: int
    minimum_cents: int
    eligible: bool


def next_payout(*, creator: Creator, as_of: datetime.datetime | None = None) -> NextPayout:
    """Read from `creators_payout_candidates`, the SQL the batch plans from, so the studio
    never calls a creator eligible whom the batch would leave out (suspended, frozen, no
    verified account, under the minimum, a payout still open)."""
    minimum = settings.MINIMUM_PAYOUT_CENTS
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cents, diamonds, eligible FROM creators_payout_candidates("
            "%s::timestamptz, %s::bigint, %s::bigint, ARRAY[%s]::bigint[])",
            [
                hold_cutoff(as_of),
                settings.DIAMOND_VALUE_MILLICENTS,
                minimum,
                diamond_account_id(user_id=creator.user_id),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return NextPayout(cents=0, diamonds=0, minimum_cents=minimum, eligible=False)
    cents, diamonds, eligible = row
    return NextPayout(
        cents=int(cents), diamonds=int(diamonds), minimum_cents=minimum, eligible=bool(eligible)
    )


@dataclass(frozen=True)
class BatchProgress:
    done: int
    failed: int
    pending: int
    in_flight: int
    other: int

    @property
    def open(self) -> int:
        return self.pending + self.in_flight


def batch_progress(*, batch: PayoutBatch) -> BatchProgress:
    counts = dict(batch.payouts.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    done = counts.get(Payout.Status.PAID, 0) + counts.get(Payout.Status.REVERSED, 0)
    failed = counts.get(Payout.Status.FAILED, 0)
    pending = counts.get(Payout.Status.PENDING, 0)
    in_flight = counts.get(Payout.Status.IN_FLIGHT, 0)
    return BatchProgress(
        done=done,
        failed=failed,
        pending=pending,
        in_flight=in_flight,
        other=sum(counts.values()) - done - failed - pending - in_flight,
    )
