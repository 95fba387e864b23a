"""Reconciliation issues: what Stripe said that does not match our records, kept for staff."""

from __future__ import annotations

import logging

from wallet.models import CoinPurchase, ReconciliationIssue, ReconciliationRun

logger = logging.getLogger(__name__)


def record_issue(
    *,
    kind: str,
    source: str,
    stripe_object_id: str,
    purchase: CoinPurchase | None = None,
    field: str = "",
    expected: object = "",
    found: object = "",
    run: ReconciliationRun | None = None,
) -> bool:
    """Store the issue once per (kind, Stripe object, purchase, field); True when it is new."""
    dedupe_key = f"{kind}:{stripe_object_id}:{purchase.pk if purchase else '-'}:{field}"[:400]
    if ReconciliationIssue.objects.filter(dedupe_key=dedupe_key).exists():
        return False
    created = ReconciliationIssue.objects.bulk_create(
        [
            ReconciliationIssue(
                kind=kind,
                dedupe_key=dedupe_key,
                purchase=purchase,
                run=run,
                source=source,
                stripe_object_id=stripe_object_id[:255],
                expected=f"{field} {expected}".strip()[:255],
                found=f"{field} {found}".strip()[:255],
            )
        ],
        ignore_conflicts=True,
    )
    logger.warning(
        "reconciliation issue %s on %s",
        kind,
        stripe_object_id,
        extra={"purchase_id": purchase.pk if purchase else None, "field": field, "source": source},
    )
    return bool(created)
