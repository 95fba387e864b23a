"""Reads for staff: the numbers on the admin dashboard."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.utils import timezone

from wallet.models import Account, AdjustmentRequest, CoinPurchase, ReconciliationIssue, Report


@dataclass(frozen=True)
class StaffDashboard:
    since: datetime.datetime
    coins_sold: int
    purchases: int
    open_reports: int
    open_reconciliation_issues: int
    adjustments_waiting: int
    frozen_wallets: int
    # Filled by the apps that own them (see register_dashboard_figures).
    gifts: int = 0
    gift_coins: int = 0
    payout_batches_waiting: int = 0
    payouts_failed: int = 0


# name -> (start of today) -> some of StaffDashboard's figures. Filled at start-up by the apps
# that own them (gifts: today's gifts; creators: payouts waiting and failed), so wallet imports
# neither.
DASHBOARD_FIGURES: dict[str, Callable[[datetime.datetime], dict[str, int]]] = {}


def register_dashboard_figures(name: str, figures: Callable[[datetime.datetime], dict[str, int]]) -> None:
    DASHBOARD_FIGURES[name] = figures


def staff_dashboard(*, now: datetime.datetime | None = None) -> StaffDashboard:
    """Today (since midnight UTC) and what waits for staff now."""
    now = now or timezone.now()
    since = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sold = CoinPurchase.objects.filter(credited_at__gte=since).aggregate(coins=Sum("coins"), n=Count("id"))
    figures: dict[str, int] = {}
    for app_figures in DASHBOARD_FIGURES.values():
        figures.update(app_figures(since))
    return StaffDashboard(
        since=since,
        coins_sold=int(sold["coins"] or 0),
        purchases=int(sold["n"] or 0),
        open_reports=Report.objects.filter(status=Report.Status.OPEN).count(),
        open_reconciliation_issues=ReconciliationIssue.objects.filter(resolved=False).count(),
        adjustments_waiting=AdjustmentRequest.objects.filter(
            status__in=[AdjustmentRequest.Status.PENDING, AdjustmentRequest.Status.APPROVED]
        ).count(),
        frozen_wallets=Account.objects.filter(frozen=True).count(),
        **figures,
    )
