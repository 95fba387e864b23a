"""The audit log: one append-only row per staff action or money correction (who, what, on which
row, why, before and after, and the ledger transaction when money moved)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from wallet import errors
from wallet.models import AuditEntry, User

REASON_MAX_LENGTH = 1000


def require_reason(reason: str | None) -> str:
    """Staff actions say why; the reason is stored with the audit row."""
    cleaned = (reason or "").strip()
    if not cleaned:
        raise errors.InvalidRequest(errors.REASON_REQUIRED, code="reason_required")
    return cleaned[:REASON_MAX_LENGTH]


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of `obj` as JSON-ready values (foreign keys by id)."""
    return {name: obj.serializable_value(name) for name in fields}


def record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    transaction_id: int | None = None,
) -> AuditEntry:
    """Write one audit row; call it inside the transaction of the change it describes."""
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        reason=reason,
        before=before or {},
        after=after or {},
        transaction_id=transaction_id,
    )
