"""The audit log: one append-only row per staff action or money correction (who, what, on which
row, why, before and after, and the ledger transaction when money moved)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile

from wallet import errors
from wallet.models import AuditEntry, User

REASON_MAX_LENGTH = 1000


def require_reason(reason: str | None) -> str:
    """Staff actions say why; the reason is stored with the audit row."""
    cleaned = (reason or "").strip()
    if not cleaned:
        raise errors.InvalidRequest(errors.REASON_REQUIRED, code="reason_required")
    return cleaned[:REASON_MAX_LENGTH]


def require_permission(staff: User, permission: str) -> None:
    """Every staff power checks its own permission in its service, whichever screen called it."""
    if not (staff.is_active and staff.has_perm(permission)):
        raise errors.NotAllowed(errors.STAFF_PERMISSION_REQUIRED, code="permission_denied")


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


def _audit_value(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def _related_label(row: models.Model) -> str:
    if isinstance(row, Permission):
        return f"{row.content_type.app_label}.{row.codename}"
    return str(row)


def audited_values(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a saved row as JSON-ready values; many-to-many fields as sorted labels
    (permissions as "app_label.codename")."""
    values: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            related = getattr(obj, name).all()
            if related.model is Permission:
                related = related.select_related("content_type")
            values[name] = sorted(_related_label(row) for row in related)
        else:
            values[name] = _audit_value(obj.serializable_value(name))
    return values


def record_admin_change(
    *, actor: User | None, target: models.Model, before: dict[str, Any] | None, after: dict[str, Any]
) -> AuditEntry | None:
    """Audit what an admin form changed among a row's audited fields (None when nothing did);
    `before` is None for a row the form created."""
    encoded_after = json.loads(json.dumps(after, cls=DjangoJSONEncoder))
    if before is None:
        changed_after = {
            key: value for key, value in encoded_after.items() if value not in (None, "", [], False)
        }
        changed_before: dict[str, Any] = {}
        action = "add"
    else:
        encoded_before = json.loads(json.dumps(before, cls=DjangoJSONEncoder))
        keys = [key for key in encoded_after if encoded_after[key] != encoded_before.get(key)]
        changed_after = {key: encoded_after[key] for key in keys}
        changed_before = {key: encoded_before.get(key) for key in keys}
        action = "change"
    if not changed_after and not changed_before:
        return None
    return record(
        actor=actor,
        action=f"{target._meta.model_name}.{action}",
        target=target,
        reason="Changed in the admin form.",
        before=changed_before,
        after=changed_after,
    )
