"""Reads for purchase history (a buyer sees only their own purchases)."""

from __future__ import annotations

from django.db.models import QuerySet

from wallet.models import CoinPurchase


def purchases_of(*, user_id: int, limit: int = 100) -> QuerySet[CoinPurchase]:
    return (
        CoinPurchase.objects.filter(user_id=user_id)
        .select_related("package")
        .order_by("-created_at", "-pk")[:limit]
    )
