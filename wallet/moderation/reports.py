"""Viewers report a post, a merch item, a live session or a user; staff action or dismiss the reports.

Targets are generic (content types), named by a short type; the app that owns each kind
registers how a reporter finds it (`register_report_target`, at start-up), so wallet imports
neither gifts nor creators. One open report per reporter per target, enforced by a database constraint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from wallet import errors
from wallet.models import Report, User
from wallet.moderation import audit

# The short name a page posts -> (target id, reporter) -> the target as the reporter's own page
# would show it, or None (hidden and missing alike). Filled at start-up by the app that owns
# each kind: wallet users, gifts live sessions, creators posts and merch.
REPORT_TARGETS: dict[str, Callable[[int, User], models.Model | None]] = {}


def register_report_target(target_type: str, find: Callable[[int, User], models.Model | None]) -> None:
    REPORT_TARGETS[target_type] = find


def report_target_types() -> list[tuple[str, str]]:
    return [(key, key) for key in REPORT_TARGETS]


DETAILS_MAX_LENGTH = 1000
REPORT_FIELDS = ("status", "handled_by", "resolution_note")


def _owner_id(target: models.Model) -> int | None:
    """The user a target belongs to: a user is their own; a chat message is its author's; posts
    and sessions belong to their creator."""
    if isinstance(target, User):
        return target.pk
    author_id = getattr(target, "author_id", None)
    if author_id is not None:
        return int(author_id)
    creator: Any = getattr(target, "creator", None)
    return getattr(creator, "user_id", None)


def report_target(*, target_type: str, target_id: int, reporter: User) -> models.Model:
    """The target as the reporter can see it. Hidden and missing answer the same NotFound, so a
    report never tells whether a hidden object exists."""
    find = REPORT_TARGETS.get(target_type)
    if find is None:
        raise errors.InvalidRequest(errors.REPORT_TARGET_TYPE_INVALID, code="bad_target_type")
    target = find(target_id, reporter)
    if target is None:
        raise errors.NotFound(errors.REPORT_TARGET_NOT_FOUND)
    return target


def file_report(
    *, reporter: User, target_type: str, target_id: int, reason: str, details: str = ""
) -> Report:
    """A viewer reports something; a second open report of the same target by them is refused (409)."""
    if reason not in Report.Reason.values:
        raise errors.InvalidRequest(errors.REPORT_REASON_INVALID, code="bad_reason")
    details = (details or "").strip()
    if len(details) > DETAILS_MAX_LENGTH:
        raise errors.InvalidRequest(errors.REPORT_DETAILS_TOO_LONG, code="details_too_long")
    target = report_target(target_type=target_type, target_id=target_id, reporter=reporter)
    if _owner_id(target) == reporter.pk:
        raise errors.InvalidRequest(errors.REPORT_OWN, code="own_target")
    content_type = ContentType.objects.get_for_model(target)
    duplicate = errors.WrongState(errors.REPORT_DUPLICATE, code="duplicate_report")
    if Report.objects.filter(
        reporter=reporter, target_type=content_type, target_id=target.pk, status=Report.Status.OPEN
    ).exists():
        raise duplicate
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter,
                target_type=content_type,
                target_id=target.pk,
                target_repr=str(target)[:255],
                reason=reason,
                details=details,
            )
    except IntegrityError as exc:
        # report_one_open_per_reporter_target: a double click committed first.
        raise duplicate from exc


def close_report(*, report_id: int, staff: User, status: str, note: str) -> Report:
    """Staff mark an open report actioned or dismissed, with a note (audited)."""
    audit.require_permission(staff, "wallet.handle_report")
    note = audit.require_reason(note)
    if status not in (Report.Status.ACTIONED, Report.Status.DISMISSED):
        raise errors.InvalidRequest(errors.REPORT_CLOSE_STATUS_INVALID)
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise errors.NotFound(errors.REPORT_NOT_FOUND)
        if report.status != Report.Status.OPEN:
            raise errors.WrongState(errors.REPORT_NOT_OPEN)
        before = audit.snapshot(report, REPORT_FIELDS)
        _close(report, staff=staff, status=status, note=note)
        audit.record(
            actor=staff,
            action=f"report.{'action' if status == Report.Status.ACTIONED else 'dismiss'}",
            target=report,
            reason=note,
            before=before,
            after=audit.snapshot(report, REPORT_FIELDS),
        )
    return report


def _close(report: Report, *, staff: User, status: str, note: str) -> None:
    report.status = status
    report.handled_by = staff
    report.handled_at = timezone.now()
    report.resolution_note = note[:500]
    report.save(update_fields=["status", "handled_by", "handled_at", "resolution_note"])


def action_open_reports(*, target: models.Model, staff: User, note: str) -> int:
    """A moderation action was taken on `target`: its open reports become actioned (the action's
    own audit row says why). Returns how many were closed."""
    reports = Report.objects.select_for_update().filter(
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        status=Report.Status.OPEN,
    )
    closed = 0
    for report in reports.order_by("pk"):
        _close(report, staff=staff, status=Report.Status.ACTIONED, note=note)
        closed += 1
    return closed
