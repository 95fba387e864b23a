"""Staff moderation of creators' rows: application decisions, suspending and reinstating
creators, hiding posts and merch, cancelling orders. Each change is audited
(`wallet.moderation.audit`) in its own database transaction, and a moderation action on a
target marks that target's open reports actioned."""

from __future__ import annotations

from typing import TypeVar

from django.db import models, transaction

from creators import permissions
from creators.errors import (
    ALREADY_CANCELLED,
    ALREADY_HIDDEN,
    NOT_APPROVED,
    NOT_HIDDEN,
    NOT_SUSPENDED,
    ROW_NOT_FOUND,
)
from creators.models import Creator, MerchItem, Post
from creators.services import stream_keys
from creators.services.merch import OrderResult, cancel_order
from creators.services.onboarding import approve_creator, reject_creator
from wallet import errors
from wallet.models import User
from wallet.moderation import audit, reports

CREATOR_FIELDS = ("status", "status_reason", "decided_by", "decided_at")
POST_FIELDS = ("hidden", "hidden_reason")
MERCH_FIELDS = ("hidden", "hidden_by_staff", "hidden_reason")

ModelT = TypeVar("ModelT", bound=models.Model)


def _for_update(model: type[ModelT], pk: int) -> ModelT:
    row = model._default_manager.select_for_update().filter(pk=pk).first()
    if row is None:
        raise errors.NotFound(ROW_NOT_FOUND.format(name=model._meta.verbose_name))
    return row


# ---------------------------------------------------------------- creators


def approve_application(*, creator_id: int, staff: User, note: str = "") -> Creator:
    audit.require_permission(staff, permissions.REVIEW_CREATOR)
    with transaction.atomic():
        before = audit.snapshot(_for_update(Creator, creator_id), CREATOR_FIELDS)
        creator = approve_creator(creator_id=creator_id, decided_by=staff, reason=note)
        audit.record(
            actor=staff,
            action="creator.approve",
            target=creator,
            reason=note.strip(),
            before=before,
            after=audit.snapshot(creator, CREATOR_FIELDS),
        )
    return creator


def reject_application(*, creator_id: int, staff: User, reason: str) -> Creator:
    audit.require_permission(staff, permissions.REVIEW_CREATOR)
    reason = audit.require_reason(reason)
    with transaction.atomic():
        before = audit.snapshot(_for_update(Creator, creator_id), CREATOR_FIELDS)
        creator = reject_creator(creator_id=creator_id, decided_by=staff, reason=reason)
        audit.record(
            actor=staff,
            action="creator.reject",
            target=creator,
            reason=reason,
            before=before,
            after=audit.snapshot(creator, CREATOR_FIELDS),
        )
    return creator


def _set_creator_status(
    *, creator_id: int, staff: User, reason: str, expected: str, status: str, refusal: str, action: str
) -> Creator:
    audit.require_permission(staff, permissions.SUSPEND_CREATOR)
    reason = audit.require_reason(reason)
    with transaction.atomic():
        creator = _for_update(Creator, creator_id)
        if creator.status != expected:
            raise errors.WrongState(refusal.format(status=creator.get_status_display().lower()))
        before = audit.snapshot(creator, CREATOR_FIELDS)
        creator.status = status
        creator.status_reason = reason[:255] if status == Creator.Status.SUSPENDED else ""
        creator.save(update_fields=["status", "status_reason"])
        audit.record(
            actor=staff,
            action=action,
            target=creator,
            reason=reason,
            before=before,
            after=audit.snapshot(creator, CREATOR_FIELDS),
        )
        if status == Creator.Status.SUSPENDED:
            reports.action_open_reports(target=creator.user, staff=staff, note=f"Creator suspended: {reason}")
            stream_keys.cut_stream(creator_id=creator.pk)
    return creator


def suspend_creator(*, creator_id: int, staff: User, reason: str) -> Creator:
    """A suspended creator's profile is not public and receives no gifts, unlocks or orders."""
    return _set_creator_status(
        creator_id=creator_id,
        staff=staff,
        reason=reason,
        expected=Creator.Status.APPROVED,
        status=Creator.Status.SUSPENDED,
        refusal=NOT_APPROVED,
        action="creator.suspend",
    )


def reinstate_creator(*, creator_id: int, staff: User, reason: str) -> Creator:
    return _set_creator_status(
        creator_id=creator_id,
        staff=staff,
        reason=reason,
        expected=Creator.Status.SUSPENDED,
        status=Creator.Status.APPROVED,
        refusal=NOT_SUSPENDED,
        action="creator.reinstate",
    )


# ---------------------------------------------------------------- posts and merch


def _set_hidden(
    model: type[Post] | type[MerchItem], *, pk: int, staff: User, reason: str, hidden: bool
) -> Post | MerchItem:
    reason = audit.require_reason(reason)
    audit.require_permission(staff, permissions.HIDE_CONTENT)
    fields = POST_FIELDS if model is Post else MERCH_FIELDS
    with transaction.atomic():
        row = _for_update(model, pk)
        # Merch: what counts is staff's hiding; an item its creator took off sale can still be
        # hidden by staff (and then the creator cannot list it again).
        hidden_now = row.hidden_by_staff if isinstance(row, MerchItem) else row.hidden
        if hidden_now == hidden:
            raise errors.WrongState(ALREADY_HIDDEN if hidden else NOT_HIDDEN)
        before = audit.snapshot(row, fields)
        row.hidden = hidden
        row.hidden_reason = reason[:255] if hidden else ""
        if isinstance(row, MerchItem):
            row.hidden_by_staff = hidden
        row.save(update_fields=list(fields))
        name = model._meta.model_name
        audit.record(
            actor=staff,
            action=f"{name}.{'hide' if hidden else 'show'}",
            target=row,
            reason=reason,
            before=before,
            after=audit.snapshot(row, fields),
        )
        if hidden:
            reports.action_open_reports(target=row, staff=staff, note=f"Hidden: {reason}")
    return row


def hide_post(*, post_id: int, staff: User, reason: str) -> Post | MerchItem:
    return _set_hidden(Post, pk=post_id, staff=staff, reason=reason, hidden=True)


def show_post(*, post_id: int, staff: User, reason: str) -> Post | MerchItem:
    return _set_hidden(Post, pk=post_id, staff=staff, reason=reason, hidden=False)


def hide_merch_item(*, item_id: int, staff: User, reason: str) -> Post | MerchItem:
    return _set_hidden(MerchItem, pk=item_id, staff=staff, reason=reason, hidden=True)


def show_merch_item(*, item_id: int, staff: User, reason: str) -> Post | MerchItem:
    return _set_hidden(MerchItem, pk=item_id, staff=staff, reason=reason, hidden=False)


# ---------------------------------------------------------------- orders


def cancel_order_by_staff(*, order_id: int, staff: User, reason: str) -> OrderResult:
    """`cancel_order` from the admin: audited there (staff need the cancel permission); an order
    already cancelled is an error rather than a quiet no-op."""
    result = cancel_order(order_id=order_id, by=staff, reason=reason)
    if not result.changed:
        raise errors.WrongState(ALREADY_CANCELLED)
    return result
