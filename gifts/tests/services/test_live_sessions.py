from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from creators.models import Creator
from gifts import services
from gifts.models import Gift, LiveSession
from wallet import errors

pytestmark = pytest.mark.django_db


def test_an_approved_creator_goes_live_with_a_goal(creator: Creator, rose: Gift) -> None:
    session = services.start_live_session(creator=creator, title="  Ramen  ", goal_gift=rose, goal_count=1000)
    assert (session.title, session.status, session.goal_gift, session.goal_count) == (
        "Ramen",
        "live",
        rose,
        1000,
    )


def test_a_creator_who_is_not_approved_cannot_go_live(make_creator: Callable[..., Creator]) -> None:
    with pytest.raises(errors.NotAllowed, match=services.NOT_A_CREATOR):
        services.start_live_session(creator=make_creator(status=Creator.Status.APPLIED), title="Hi")


def test_a_creator_is_live_once_at_a_time(creator: Creator) -> None:
    services.start_live_session(creator=creator, title="One")
    with pytest.raises(errors.WrongState, match="already live"):
        services.start_live_session(creator=creator, title="Two")
    assert LiveSession.objects.filter(creator=creator).count() == 1


@pytest.mark.parametrize(
    "goal", [{"goal_count": 10}, {"goal_gift": "rose"}, {"goal_gift": "rose", "goal_count": 0}], ids=str
)
def test_a_goal_needs_a_gift_and_a_positive_count(creator: Creator, rose: Gift, goal: dict[str, Any]) -> None:
    if goal.get("goal_gift") == "rose":
        goal["goal_gift"] = rose
    with pytest.raises(errors.InvalidRequest):
        services.start_live_session(creator=creator, title="Hi", **goal)


def test_the_creator_ends_a_session_once(creator: Creator, live_session: LiveSession) -> None:
    ended = services.end_live_session(session=live_session, ended_by=creator.user)
    live_session.refresh_from_db()
    assert ended.status == live_session.status == LiveSession.Status.ENDED
    assert live_session.ended_at is not None
    with pytest.raises(errors.WrongState):
        services.end_live_session(session=live_session, ended_by=creator.user)
    services.start_live_session(creator=creator, title="Next day")


def test_only_the_creator_or_staff_with_the_end_permission_may_end_a_session(
    make_user: Callable[..., Any], live_session: LiveSession
) -> None:
    with pytest.raises(errors.NotAllowed):
        services.end_live_session(session=live_session, ended_by=make_user())
    with pytest.raises(errors.NotAllowed):
        services.end_live_session(session=live_session, ended_by=make_user(is_staff=True), reason="Spam")
    superuser = make_user(is_staff=True, is_superuser=True)
    with pytest.raises(errors.InvalidRequest):
        services.end_live_session(session=live_session, ended_by=superuser)
    services.end_live_session(session=live_session, ended_by=superuser, reason="Spam")
    assert live_session.status == LiveSession.Status.ENDED
