"""Staff moderation of live sessions from the admin: ending one goes through
`gifts.services.end_live_session`, which checks the permission, audits the change and marks the
session's open reports actioned."""

from __future__ import annotations

from gifts import services
from gifts.errors import SESSION_NOT_FOUND
from gifts.models import LiveSession
from wallet import errors
from wallet.models import User


def end_live_session_by_staff(*, session_id: int, staff: User, reason: str) -> LiveSession:
    session = LiveSession.objects.select_related("creator").filter(pk=session_id).first()
    if session is None:
        raise errors.NotFound(SESSION_NOT_FOUND)
    return services.end_live_session(session=session, ended_by=staff, reason=reason)
