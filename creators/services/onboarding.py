"""Creator onboarding: a viewer applies; staff approve or reject with a reason."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from creators import errors as creator_errors
from creators.models import Creator
from wallet import errors
from wallet.models import User
from wallet.services import open_diamond_accounts

HANDLE_MIN_LENGTH = 3
HANDLE_MAX_LENGTH = 40
HANDLE_PATTERN = re.compile(rf"^[a-z0-9_-]{{{HANDLE_MIN_LENGTH},{HANDLE_MAX_LENGTH}}}$")
# Words the site's own addresses use or that would pass for the site speaking.
RESERVED_HANDLES = frozenset(
    {"admin", "api", "studio", "staff", "support", "coinsite", "me", "live", "static"}
)


def check_handle(handle: str, *, user: User | None = None) -> str:
    """The handle rules, in one place: returns `handle` as stored (trimmed, lower case) or
    raises InvalidRequest (code `handle_invalid`, `handle_reserved` or `handle_taken`). A
    handle is 3 to 40 letters, digits, '-' and '_', not reserved, and no other creator's
    (`user`'s own creator profile may keep its handle). The unique index still decides a race."""
    handle = handle.strip().lower()
    if not HANDLE_PATTERN.match(handle):
        raise errors.InvalidRequest(
            creator_errors.HANDLE_INVALID.format(min=HANDLE_MIN_LENGTH, max=HANDLE_MAX_LENGTH),
            code="handle_invalid",
        )
    if handle in RESERVED_HANDLES:
        raise errors.InvalidRequest(creator_errors.HANDLE_RESERVED, code="handle_reserved")
    taken = Creator.objects.filter(handle=handle)
    if user is not None:
        taken = taken.exclude(user=user)
    if taken.exists():
        raise errors.InvalidRequest(creator_errors.HANDLE_TAKEN, code="handle_taken")
    return handle


def require_creator_age(user: User) -> None:
    """Creators are adults: applying, approval and payout set-up all check it."""
    if not user.is_at_least(settings.MINIMUM_AGE_TO_CREATE):
        raise errors.AgeRestricted(
            creator_errors.CREATOR_TOO_YOUNG.format(age=settings.MINIMUM_AGE_TO_CREATE)
        )


def apply_for_creator(*, user: User, display_name: str, handle: str, bio: str, category: str) -> Creator:
    """Create (or, after a rejection, renew) the user's application to become a creator."""
    require_creator_age(user)
    handle = check_handle(handle, user=user)
    with transaction.atomic():
        creator = Creator.objects.select_for_update().filter(user=user).first()
        if creator is None:
            creator = Creator(user=user)
        elif creator.status != Creator.Status.REJECTED:
            raise errors.WrongState(
                f"You already have a creator profile ({creator.get_status_display().lower()})."
            )
        creator.display_name = display_name.strip()
        creator.handle = handle
        creator.bio = bio.strip()
        creator.category = category.strip()
        creator.status = Creator.Status.APPLIED
        creator.status_reason = ""
        creator.decided_at = None
        creator.decided_by = None
        creator.created_at = timezone.now()
        try:
            with transaction.atomic():
                creator.save()
        except IntegrityError as exc:
            raise errors.InvalidRequest(creator_errors.HANDLE_TAKEN, code="handle_taken") from exc
    return creator


def _decide(creator_id: int) -> Creator:
    creator = Creator.objects.select_for_update().select_related("user").filter(pk=creator_id).first()
    if creator is None:
        raise errors.NotFound()
    if creator.status != Creator.Status.APPLIED:
        raise errors.WrongState(
            creator_errors.NOT_APPLIED.format(status=creator.get_status_display().lower())
        )
    return creator


def approve_creator(*, creator_id: int, decided_by: User, reason: str = "") -> Creator:
    """Approve a pending application: the user becomes a creator with a diamond account."""
    with transaction.atomic():
        creator = _decide(creator_id)
        require_creator_age(creator.user)
        creator.status = Creator.Status.APPROVED
        creator.status_reason = reason.strip()[:255]
        creator.decided_at = timezone.now()
        creator.decided_by = decided_by
        creator.save(update_fields=["status", "status_reason", "decided_at", "decided_by"])
        if creator.user.role == User.Role.VIEWER:
            User.objects.filter(pk=creator.user_id).update(role=User.Role.CREATOR)
        open_diamond_accounts(user_ids=[creator.user_id])
    return creator


def reject_creator(*, creator_id: int, decided_by: User, reason: str) -> Creator:
    """Reject a pending application with a reason the applicant sees."""
    reason = reason.strip()
    if not reason:
        raise errors.InvalidRequest(creator_errors.REASON_REQUIRED)
    with transaction.atomic():
        creator = _decide(creator_id)
        creator.status = Creator.Status.REJECTED
        creator.status_reason = reason[:255]
        creator.decided_at = timezone.now()
        creator.decided_by = decided_by
        creator.save(update_fields=["status", "status_reason", "decided_at", "decided_by"])
    return creator
