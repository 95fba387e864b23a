"""Reads for staff: the numbers on the admin dashboard."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, Model, Sum
from django.utils import timezone

from wallet.models import Account, AdjustmentRequest, CoinPurchase, ReconciliationIssue, Report


@dataclass(frozen=True)
class StaffDashboard:
    since: datetime.datetime
    coins_sold: int
    purchases: int
    gifts: int
    gift_coins: int
    open_reports: int
    open_reconciliation_issues: int
    adjustments_waiting: int
    frozen_wallets: int
    payout_batches_waiting: int
    payouts_failed: int


def _model(app_label: str, name: str) -> type[Model] | None:
    # Read lazily: wallet imports neither gifts nor creators, and payouts may not exist yet.
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _count_where(model: type[Model] | None, **filters: object) -> int:
    if model is None:
        return 0
    field_names = {field.name for field in model._meta.get_fields()}
    if not {name.split("__", 1)[0] for name in filters} <= field_names:
        return 0
    return int(model._default_manager.filter(**filters).count())


def staff_dashboard(*, now: datetime.datetime | None = None) -> StaffDashboard:
    """Today (since midnight UTC) and what waits for staff now."""
    now = now or timezone.now()
    since = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sold = CoinPurchase.objects.filter(credited_at__gte=since).aggregate(coins=Sum("coins"), n=Count("id"))
    gifts = {"n": 0, "coins": 0}
    gift_send = _model("gifts", "GiftSend")
    if gift_send is not None:
        gifts = gift_send._default_manager.filter(created_at__gte=since).aggregate(
            n=Count("id"), coins=Sum("coins")
        )
    return StaffDashboard(
        since=since,
        coins_sold=int(sold["coins"] or 0),
        purchases=int(sold["n"] or 0),
        gifts=int(gifts["n"] or 0),
        gift_coins=int(gifts["coins"] or 0),
        open_reports=Report.objects.filter(status=Report.Status.OPEN).count(),
        open_reconciliation_issues=ReconciliationIssue.objects.filter(resolved=False).count(),
        adjustments_waiting=AdjustmentRequest.objects.filter(
            status__in=[AdjustmentRequest.Status.PENDING, AdjustmentRequest.Status.APPROVED]
        ).count(),
        frozen_wallets=Account.objects.filter(frozen=True).count(),
        payout_batches_waiting=_count_where(_model("creators", "PayoutBatch"), status="awaiting_approval"),
        payouts_failed=_count_where(_model("creators", "Payout"), status="failed"),
    )
