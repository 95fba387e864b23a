"""The live room's chat and its moderation (writes). What pages read is in `gifts.selectors`;
what they receive is `gifts.live_events`, sent by `gifts.live_updates`' broadcaster.

Rules, in the order a message meets them: the session is live; the author is not banned or
timed out of the creator's rooms; the text is 1 to 200 characters; no blocked word; no link
unless the creator allows links; at most `RATE_LIMIT_MESSAGES` per `RATE_LIMIT_SECONDS` per
author; in slow mode, one message per `slow_mode_seconds` per author (the creator and the
moderators are exempt from slow mode). The text is stored as typed and rendered as text only.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from creators.models import Creator
from gifts import errors as texts
from gifts import live_updates, permissions, selectors
from gifts.models import CHAT_MAX_LENGTH, ChatMessage, LiveSession, RoomBan, RoomModerator, RoomRules
from wallet import errors
from wallet.models import User
from wallet.moderation import audit, reports

RATE_LIMIT_MESSAGES = 5
RATE_LIMIT_SECONDS = 10
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
MAX_SLOW_MODE_SECONDS = 3600

# A scheme, a www. host, or a dotted name ending in a common top-level domain.
LINK = re.compile(
    r"[a-z][a-z0-9+.-]*://|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|gg|tv|ly|me|co|app|xyz|info|biz|ru|de|uk|link|site|live)\b",
    re.IGNORECASE,
)


def _refuse_text(text: str, rules: RoomRules) -> str:
    cleaned = " ".join(text.split())  # one line: newlines and runs of spaces collapse
    if not cleaned:
        raise errors.InvalidRequest(texts.CHAT_EMPTY, code="chat_empty")
    if len(cleaned) > CHAT_MAX_LENGTH:
        raise errors.InvalidRequest(texts.CHAT_TOO_LONG, code="chat_too_long")
    lowered = cleaned.casefold()
    if any(word in lowered for word in selectors.blocked_words(rules)):
        raise errors.InvalidRequest(texts.CHAT_BLOCKED_WORD, code="chat_blocked_word")
    if not rules.links_allowed and LINK.search(cleaned):
        raise errors.InvalidRequest(texts.CHAT_NO_LINKS, code="chat_no_links")
    return cleaned


def kept_out_message(ban: RoomBan) -> str:
    """What the user is told: banned, or timed out until when (UTC)."""
    if ban.until is None:
        return texts.CHAT_BANNED
    return texts.CHAT_TIMED_OUT.format(until=ban.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def _refuse_if_banned(*, creator_id: int, user: User) -> None:
    ban = selectors.active_ban(creator_id=creator_id, user_id=user.pk)
    if ban is None:
        return
    if ban.until is None:
        raise errors.NotAllowed(kept_out_message(ban), code="chat_banned")
    raise errors.NotAllowed(
        kept_out_message(ban), code="chat_timed_out", extra={"until": ban.until.isoformat()}
    )


def post_message(*, author: User | None, session_id: int, text: str) -> ChatMessage:
    """A signed-in viewer says something in a live session's chat; every page of it is told."""
    if author is None or not author.is_authenticated:
        raise errors.NotAllowed(texts.SIGN_IN_TO_CHAT, code="sign_in")
    session = LiveSession.objects.select_related("creator").filter(pk=session_id).first()
    if session is None:
        raise errors.NotFound(texts.NO_SUCH_SESSION)
    if not session.is_live:
        raise errors.WrongState(texts.CHAT_SESSION_ENDED)
    _refuse_if_banned(creator_id=session.creator_id, user=author)
    rules = selectors.room_rules(creator_id=session.creator_id)
    cleaned = _refuse_text(str(text or ""), rules)
    with transaction.atomic():
        # One author's messages are checked and written one at a time, so two at once can't
        # both slip under the rate limit or slow mode.
        User.objects.select_for_update().filter(pk=author.pk).first()
        now = timezone.now()
        recent = list(
            ChatMessage.objects.filter(
                author=author, created_at__gt=now - timedelta(seconds=RATE_LIMIT_SECONDS)
            ).values_list("created_at", flat=True)
        )
        if len(recent) >= RATE_LIMIT_MESSAGES:
            raise errors.InvalidRequest(texts.CHAT_RATE_LIMITED, code="chat_rate_limited")
        if rules.slow_mode_seconds and not selectors.can_moderate(user=author, creator=session.creator):
            last = (
                ChatMessage.objects.filter(author=author, session=session)
                .order_by("-id")
                .values_list("created_at", flat=True)
            ).first()
            if last is not None and (now - last).total_seconds() < rules.slow_mode_seconds:
                wait = math.ceil(rules.slow_mode_seconds - (now - last).total_seconds())
                raise errors.InvalidRequest(
                    texts.CHAT_SLOW_MODE.format(seconds=rules.slow_mode_seconds, wait=wait),
                    code="chat_slow_mode",
                    extra={"wait": wait},
                )
        message = ChatMessage.objects.create(session=session, author=author, text=cleaned, created_at=now)
        live_updates.broadcast_chat_on_commit(message)
    return message


# ---------------------------------------------------------------- moderation by the creator and moderators


def _message_to_moderate(*, actor: User, message_id: int) -> ChatMessage:
    message = (
        ChatMessage.objects.select_related("session__creator", "author")
        .filter(pk=message_id, deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise errors.NotFound(texts.MESSAGE_NOT_FOUND)
    if not selectors.can_moderate(user=actor, creator=message.session.creator):
        raise errors.NotAllowed(texts.NOT_A_MODERATOR)
    return message


def delete_message(*, actor: User, message_id: int) -> ChatMessage:
    """The creator or a moderator deletes a message: it disappears from every page."""
    message = _message_to_moderate(actor=actor, message_id=message_id)
    with transaction.atomic():
        deleted = ChatMessage.objects.filter(pk=message.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now(), deleted_by=actor
        )
        if not deleted:
            raise errors.NotFound(texts.MESSAGE_NOT_FOUND)
        live_updates.broadcast_chat_deleted_on_commit(message)
    return message


def _keep_out(*, actor: User, message: ChatMessage, until: datetime | None) -> RoomBan:
    """Time out or ban the message's author; their open pages of the room are told at once."""
    creator, user = message.session.creator, message.author
    if user.pk == creator.user_id or selectors.can_moderate(user=user, creator=creator):
        raise errors.NotAllowed(texts.CANNOT_MODERATE_USER)
    ban, _ = RoomBan.objects.update_or_create(
        creator=creator, user=user, defaults={"until": until, "by": actor, "created_at": timezone.now()}
    )
    live_updates.broadcast_kept_out_on_commit(
        message.session_id, user_id=user.pk, message=kept_out_message(ban)
    )
    return ban


def time_out_author(*, actor: User, message_id: int, minutes: int) -> RoomBan:
    """Keep the message's author out of the creator's chats for `minutes`; their message goes too."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_TIMEOUT_MINUTES:
        raise errors.InvalidRequest(texts.TIMEOUT_MINUTES_INVALID)
    message = _message_to_moderate(actor=actor, message_id=message_id)
    until = timezone.now() + timedelta(minutes=minutes)
    with transaction.atomic():
        ban = _keep_out(actor=actor, message=message, until=until)
        delete_message(actor=actor, message_id=message.pk)
    return ban


def ban_author(*, actor: User, message_id: int) -> RoomBan:
    """Keep the message's author out of the creator's chats for good; their message goes too."""
    message = _message_to_moderate(actor=actor, message_id=message_id)
    with transaction.atomic():
        ban = _keep_out(actor=actor, message=message, until=None)
        delete_message(actor=actor, message_id=message.pk)
    return ban


def lift_ban(*, actor: User, creator: Creator, user: User) -> None:
    if not selectors.can_moderate(user=actor, creator=creator):
        raise errors.NotAllowed(texts.NOT_A_MODERATOR)
    RoomBan.objects.filter(creator=creator, user=user).delete()


# ---------------------------------------------------------------- the creator's settings


def _require_creator(actor: User, creator: Creator) -> None:
    if actor.pk != creator.user_id:
        raise errors.NotAllowed(texts.ONLY_THE_CREATOR)


def appoint_moderator_of_author(*, actor: User, message_id: int) -> RoomModerator:
    """The creator makes the author of a message in their room a moderator of their rooms."""
    message = ChatMessage.objects.select_related("session__creator", "author").filter(pk=message_id).first()
    if message is None:
        raise errors.NotFound(texts.MESSAGE_NOT_FOUND)
    return appoint_moderator(actor=actor, creator=message.session.creator, user=message.author)


def appoint_moderator(*, actor: User, creator: Creator, user: User) -> RoomModerator:
    _require_creator(actor, creator)
    if user.pk == creator.user_id:
        raise errors.InvalidRequest(texts.ONLY_THE_CREATOR)
    moderator, created = RoomModerator.objects.get_or_create(creator=creator, user=user)
    if not created:
        raise errors.WrongState(texts.ALREADY_MODERATOR.format(name=user.public_name))
    return moderator


def remove_moderator(*, actor: User, creator: Creator, user: User) -> None:
    _require_creator(actor, creator)
    RoomModerator.objects.filter(creator=creator, user=user).delete()


def set_room_rules(
    *, actor: User, creator: Creator, slow_mode_seconds: int, links_allowed: bool, blocked_words: str
) -> RoomRules:
    _require_creator(actor, creator)
    if (
        not isinstance(slow_mode_seconds, int)
        or isinstance(slow_mode_seconds, bool)
        or not 0 <= slow_mode_seconds <= MAX_SLOW_MODE_SECONDS
    ):
        raise errors.InvalidRequest(texts.SLOW_MODE_INVALID)
    words = "\n".join(w.strip() for w in str(blocked_words or "").splitlines() if w.strip())
    rules, _ = RoomRules.objects.update_or_create(
        creator=creator,
        defaults={
            "slow_mode_seconds": slow_mode_seconds,
            "links_allowed": bool(links_allowed),
            "blocked_words": words,
        },
    )
    return rules


# ---------------------------------------------------------------- staff


def delete_message_by_staff(*, staff: User, message_id: int, reason: str) -> ChatMessage:
    """Staff delete a reported message from admin: audited, its open reports marked actioned."""
    audit.require_permission(staff, permissions.MODERATE_CHAT)
    reason = audit.require_reason(reason)
    with transaction.atomic():
        message = (
            ChatMessage.objects.select_for_update()
            .select_related("session", "author")
            .filter(pk=message_id, deleted_at__isnull=True)
            .first()
        )
        if message is None:
            raise errors.NotFound(texts.MESSAGE_NOT_FOUND)
        before = audit.snapshot(message, ("deleted_at", "deleted_by"))
        message.deleted_at, message.deleted_by = timezone.now(), staff
        message.save(update_fields=["deleted_at", "deleted_by"])
        audit.record(
            actor=staff,
            action="chatmessage.delete",
            target=message,
            reason=reason,
            before=before,
            after=audit.snapshot(message, ("deleted_at", "deleted_by")),
        )
        reports.action_open_reports(target=message, staff=staff, note=f"Chat message deleted: {reason}")
        live_updates.broadcast_chat_deleted_on_commit(message)
    return message
