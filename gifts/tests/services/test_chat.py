"""The room's chat rules and its moderation, through `gifts.chat` on the real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from creators.models import Creator
from gifts import chat, selectors
from gifts import errors as texts
from gifts.models import ChatMessage, LiveSession, RoomBan
from wallet import errors
from wallet.models import AuditEntry, Report
from wallet.moderation import reports

pytestmark = pytest.mark.django_db


def say(user: Any, session: LiveSession, text: str) -> ChatMessage:
    return chat.post_message(author=user, session_id=session.pk, text=text)


def refused(exc_info: pytest.ExceptionInfo[errors.CoinSiteError]) -> str:
    return exc_info.value.message


def test_a_message_is_stored_trimmed_and_shown_to_late_joiners(
    viewer: Any, live_session: LiveSession
) -> None:
    message = say(viewer, live_session, "  hello\n  everyone  ")
    assert message.text == "hello everyone"
    assert [m.pk for m in selectors.recent_chat(session_id=live_session.pk)] == [message.pk]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", texts.CHAT_EMPTY),
        ("   \n ", texts.CHAT_EMPTY),
        ("x" * 201, texts.CHAT_TOO_LONG),
        ("see https://evil.example", texts.CHAT_NO_LINKS),
        ("go to www.spam", texts.CHAT_NO_LINKS),
        ("cheap coins at coins-cheap.com now", texts.CHAT_NO_LINKS),
    ],
)
def test_bad_messages_are_refused_with_a_reason(
    viewer: Any, live_session: LiveSession, text: str, message: str
) -> None:
    with pytest.raises(errors.InvalidRequest) as refusal:
        say(viewer, live_session, text)
    assert refused(refusal) == message
    assert not ChatMessage.objects.exists()


def test_two_hundred_characters_and_text_that_looks_like_html_are_fine(
    viewer: Any, live_session: LiveSession
) -> None:
    assert len(say(viewer, live_session, "y" * 200).text) == 200
    assert say(viewer, live_session, "<b>bold</b> & 3.5 stars").text == "<b>bold</b> & 3.5 stars"


def test_links_pass_when_the_creator_allows_them(
    viewer: Any, creator: Creator, live_session: LiveSession
) -> None:
    chat.set_room_rules(
        actor=creator.user, creator=creator, slow_mode_seconds=0, links_allowed=True, blocked_words=""
    )
    assert say(viewer, live_session, "https://example.com/menu").text == "https://example.com/menu"


def test_blocked_words_are_refused_in_any_case(
    viewer: Any, creator: Creator, live_session: LiveSession
) -> None:
    chat.set_room_rules(
        actor=creator.user,
        creator=creator,
        slow_mode_seconds=0,
        links_allowed=False,
        blocked_words="Spoiler\n  ",
    )
    with pytest.raises(errors.InvalidRequest) as refusal:
        say(viewer, live_session, "big SPOILER ahead")
    assert refused(refusal) == texts.CHAT_BLOCKED_WORD
    assert say(viewer, live_session, "no spoilers here".replace("spoilers", "news"))


def test_a_sixth_message_within_ten_seconds_is_refused(viewer: Any, live_session: LiveSession) -> None:
    for i in range(chat.RATE_LIMIT_MESSAGES):
        say(viewer, live_session, f"message {i}")
    with pytest.raises(errors.InvalidRequest) as refusal:
        say(viewer, live_session, "one too many")
    assert refused(refusal) == texts.CHAT_RATE_LIMITED
    ChatMessage.objects.update(created_at=timezone.now() - timedelta(seconds=chat.RATE_LIMIT_SECONDS + 1))
    assert say(viewer, live_session, "later")


def test_slow_mode_spaces_a_viewers_messages_but_not_the_moderators(
    viewer: Any, make_user: Callable[..., Any], creator: Creator, live_session: LiveSession
) -> None:
    chat.set_room_rules(
        actor=creator.user, creator=creator, slow_mode_seconds=30, links_allowed=False, blocked_words=""
    )
    say(viewer, live_session, "first")
    with pytest.raises(errors.InvalidRequest) as refusal:
        say(viewer, live_session, "second")
    assert refused(refusal) == texts.CHAT_SLOW_MODE.format(seconds=30, wait=30)
    moderator = make_user(display_name="Mo")
    chat.appoint_moderator(actor=creator.user, creator=creator, user=moderator)
    say(moderator, live_session, "one")
    say(moderator, live_session, "two")
    say(creator.user, live_session, "creator too")


def test_slow_mode_is_bounded(creator: Creator) -> None:
    bad_values: list[Any] = [-1, 3601, True, "10"]
    for bad in bad_values:
        with pytest.raises(errors.InvalidRequest) as refusal:
            chat.set_room_rules(
                actor=creator.user,
                creator=creator,
                slow_mode_seconds=bad,
                links_allowed=False,
                blocked_words="",
            )
        assert refused(refusal) == texts.SLOW_MODE_INVALID


def test_a_moderator_deletes_a_message_and_times_out_its_author_who_is_told_until_when(
    viewer: Any, make_user: Callable[..., Any], creator: Creator, live_session: LiveSession
) -> None:
    moderator = make_user(display_name="Mo")
    chat.appoint_moderator(actor=creator.user, creator=creator, user=moderator)
    first = say(viewer, live_session, "rude")
    chat.delete_message(actor=moderator, message_id=first.pk)
    assert selectors.recent_chat(session_id=live_session.pk) == []
    first.refresh_from_db()
    assert first.deleted_by == moderator

    second = say(viewer, live_session, "ruder")
    ban = chat.time_out_author(actor=moderator, message_id=second.pk, minutes=10)
    assert ban.until is not None
    with pytest.raises(errors.NotAllowed) as refusal:
        say(viewer, live_session, "let me back")
    until = ban.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert refused(refusal) == texts.CHAT_TIMED_OUT.format(until=until)
    assert refusal.value.extra == {"until": ban.until.isoformat()}

    RoomBan.objects.update(until=timezone.now() - timedelta(seconds=1))  # the timeout ran out
    assert say(viewer, live_session, "back")


def test_a_ban_keeps_the_user_out_of_every_room_of_the_creator(
    viewer: Any, creator: Creator, live_session: LiveSession, make_session: Callable[..., LiveSession]
) -> None:
    message = say(viewer, live_session, "spam")
    chat.ban_author(actor=creator.user, message_id=message.pk)
    with pytest.raises(errors.NotAllowed) as refusal:
        say(viewer, live_session, "again")
    assert refused(refusal) == texts.CHAT_BANNED
    live_session.status, live_session.ended_at = LiveSession.Status.ENDED, timezone.now()
    live_session.save()
    with pytest.raises(errors.NotAllowed):
        say(viewer, make_session(creator, title="Next night"), "new room")


def test_only_the_creator_and_moderators_moderate_and_nobody_moderates_them(
    viewer: Any, make_user: Callable[..., Any], creator: Creator, live_session: LiveSession
) -> None:
    other = make_user(display_name="Other")
    message = say(viewer, live_session, "hello")
    for action in (
        lambda: chat.delete_message(actor=other, message_id=message.pk),
        lambda: chat.time_out_author(actor=other, message_id=message.pk, minutes=5),
        lambda: chat.ban_author(actor=other, message_id=message.pk),
    ):
        with pytest.raises(errors.NotAllowed) as refusal:
            action()
        assert refused(refusal) == texts.NOT_A_MODERATOR
    with pytest.raises(errors.NotAllowed) as refusal:
        chat.appoint_moderator(actor=viewer, creator=creator, user=other)
    assert refused(refusal) == texts.ONLY_THE_CREATOR

    chat.appoint_moderator_of_author(actor=creator.user, message_id=message.pk)
    by_creator = say(creator.user, live_session, "welcome")
    with pytest.raises(errors.NotAllowed) as refusal:
        chat.ban_author(actor=viewer, message_id=by_creator.pk)
    assert refused(refusal) == texts.CANNOT_MODERATE_USER
    with pytest.raises(errors.InvalidRequest) as bad_minutes:
        chat.time_out_author(actor=creator.user, message_id=message.pk, minutes=0)
    assert refused(bad_minutes) == texts.TIMEOUT_MINUTES_INVALID


def test_an_ended_session_and_anonymous_visitors_cannot_chat(viewer: Any, live_session: LiveSession) -> None:
    with pytest.raises(errors.NotAllowed) as refusal:
        chat.post_message(author=None, session_id=live_session.pk, text="hi")
    assert refused(refusal) == texts.SIGN_IN_TO_CHAT
    live_session.status, live_session.ended_at = LiveSession.Status.ENDED, timezone.now()
    live_session.save()
    with pytest.raises(errors.WrongState) as ended:
        say(viewer, live_session, "hi")
    assert refused(ended) == texts.CHAT_SESSION_ENDED


def test_a_reported_message_keeps_its_text_and_staff_delete_it_with_an_audit_row(
    viewer: Any, make_user: Callable[..., Any], staff: Any, live_session: LiveSession
) -> None:
    message = say(viewer, live_session, "buy followers cheap")
    reporter = make_user(display_name="Rita")
    report = reports.file_report(reporter=reporter, target_type="chat", target_id=message.pk, reason="spam")
    assert report.target == message
    assert "buy followers cheap" in report.target_repr and live_session.title in report.target_repr
    with pytest.raises(errors.InvalidRequest) as own:
        reports.file_report(reporter=viewer, target_type="chat", target_id=message.pk, reason="spam")
    assert refused(own) == errors.REPORT_OWN

    client = Client()
    client.force_login(staff)
    response = client.post(
        "/admin/gifts/chatmessage/",
        {"action": "delete_messages", "_selected_action": [message.pk], "reason": "Spam", "apply": "1"},
    )
    assert response.status_code in (200, 302), response.content[:500]
    message.refresh_from_db()
    assert message.is_deleted and message.deleted_by == staff
    report.refresh_from_db()
    assert report.status == Report.Status.ACTIONED
    entry = AuditEntry.objects.get(action="chatmessage.delete")
    assert entry.actor == staff and entry.reason == "Spam"
    assert entry.target_type == ContentType.objects.get_for_model(ChatMessage)
    with pytest.raises(errors.NotFound):  # a deleted message can't be reported any more
        reports.file_report(reporter=make_user(), target_type="chat", target_id=message.pk, reason="spam")
