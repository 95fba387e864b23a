from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from creators.models import Creator, Post
from gifts import selectors
from gifts.models import Gift, GiftSend, LiveSession

pytestmark = pytest.mark.django_db


def sums(**filters: Any) -> Counter[int]:
    totals: Counter[int] = Counter()
    for sender_id, coins in GiftSend.objects.filter(**filters).values_list("sender_id", "coins"):
        totals[sender_id] += coins
    return totals


def test_the_session_board_ranks_gifters_by_the_sum_of_their_coins(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    catalogue: dict[str, Gift],
    gift_to: Callable[..., GiftSend],
) -> None:
    ann, bob, cat = (make_user(display_name=n) for n in ("Ann", "Bob", "Cat"))
    for user in (ann, bob, cat):
        fund(user, 10_000)
    gift_to(ann, catalogue["Doughnut"], 2, session=live_session)  # 60
    gift_to(bob, catalogue["Hand Hearts"], 1, session=live_session)  # 100
    gift_to(ann, catalogue["Rose"], 50, session=live_session)  # 110 in all
    gift_to(cat, catalogue["Finger Heart"], 1, session=live_session)  # 5

    board = selectors.session_board(session_id=live_session.pk)
    assert [(g.name, g.coins) for g in board] == [("Ann", 110), ("Bob", 100), ("Cat", 5)]
    assert {g.user_id: g.coins for g in board} == sums(session=live_session)
    assert [g.name for g in selectors.session_board(session_id=live_session.pk, limit=2)] == ["Ann", "Bob"]


def test_the_session_state_counts_goal_gifts_and_totals_every_gifter(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    catalogue: dict[str, Gift],
    gift_to: Callable[..., GiftSend],
) -> None:
    users = [make_user(display_name=f"V{i}") for i in range(7)]
    for i, user in enumerate(users):
        fund(user, 1000)
        gift_to(user, catalogue["Rose"], i + 1, session=live_session)
        gift_to(user, catalogue["Doughnut"], 1, session=live_session)

    state = selectors.session_state(session=live_session, board_size=3)
    assert state.version == 14
    assert state.total_coins == sum(range(1, 8)) + 7 * 30
    assert state.goal is not None
    assert (state.goal.gift_name, state.goal.target, state.goal.progress) == ("Rose", 1000, sum(range(1, 8)))
    assert state.goal.percent == 2
    assert [g.name for g in state.board] == ["V6", "V5", "V4"]


def test_a_session_without_gifts_or_goal_has_an_empty_state(
    creator: Creator, make_session: Callable[..., LiveSession]
) -> None:
    session = make_session(creator, goal_gift=None, goal_count=None)
    state = selectors.session_state(session=session)
    assert (state.version, state.total_coins, state.goal, state.board) == (0, 0, None, [])


def test_the_all_time_board_spans_sessions_and_posts_of_one_creator(
    viewer: Any,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    make_creator: Callable[..., Creator],
    make_session: Callable[..., LiveSession],
    post: Post,
    rose: Gift,
    doughnut: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    first = make_session(creator)
    gift_to(viewer, doughnut, 1, session=first)
    first.status, first.ended_at = "ended", first.started_at
    first.save()
    second = make_session(creator)
    gift_to(viewer, rose, 3, session=second)
    gift_to(viewer, rose, 4, post=post)
    other_creator = make_creator()
    gift_to(viewer, doughnut, 5, session=make_session(other_creator))

    board = selectors.creator_board(creator_id=creator.pk)
    assert [(g.user_id, g.coins) for g in board] == [(viewer.pk, 37)]
    assert {g.user_id: g.coins for g in board} == sums(creator=creator)
    assert [(g.user_id, g.coins) for g in selectors.post_board(post_id=post.pk)] == [(viewer.pk, 4)]
    assert [g.coins for g in selectors.session_board(session_id=second.pk)] == [3]


def test_the_feed_is_newest_first(
    viewer: Any, live_session: LiveSession, rose: Gift, doughnut: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    a = gift_to(viewer, rose, 1, session=live_session)
    b = gift_to(viewer, doughnut, 1, session=live_session)
    assert [g.pk for g in selectors.recent_gifts(session_id=live_session.pk)] == [b.pk, a.pk]
    assert [g.pk for g in selectors.recent_gifts(session_id=live_session.pk, limit=1)] == [b.pk]


def test_only_live_sessions_are_listed(
    creator: Creator, make_creator: Callable[..., Creator], make_session: Callable[..., LiveSession]
) -> None:
    live = make_session(creator)
    ended = make_session(make_creator())
    ended.status, ended.ended_at = "ended", ended.started_at
    ended.save()
    assert list(selectors.live_sessions()) == [live]
