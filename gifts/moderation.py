"""Staff moderation of live sessions: ending one, audited (`wallet.moderation.audit`) in the
same database transaction, which also marks the session's open reports actioned."""

from __future__ import annotations

from django.db import transaction

from gifts import services
from gifts.models import LiveSession
from wallet import errors
from wallet.models import User
from wallet.moderation import audit, reports

SESSION_FIELDS = ("status", "ended_at")


def end_live_session_by_staff(*, session_id: int, staff: User, reason: str) -> LiveSession:
    reason = audit.require_reason(reason)
    with transaction.atomic():
        session = (
            LiveSession.objects.select_for_update(of=("self",))
            .select_related("creator")
            .filter(pk=session_id)
            .first()
        )
        if session is None:
            raise errors.NotFound("That live session doesn't exist.")
        before = audit.snapshot(session, SESSION_FIELDS)
        services.end_live_session(session=session, ended_by=staff)
        audit.record(
            actor=staff,
            action="livesession.end",
            target=session,
            reason=reason,
            before=before,
            after=audit.snapshot(session, SESSION_FIELDS),
        )
        reports.action_open_reports(target=session, staff=staff, note=f"Live session ended: {reason}")
    return session
