from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creators.models import Creator, Post
from gifts import services
from gifts.models import Gift, GiftSend, LiveSession
from wallet import errors
from wallet import services as wallet_services
from wallet.models import DailySpend, Transaction
from wallet.selectors import coin_balance, diamond_balance

pytestmark = pytest.mark.django_db


def balances(viewer: Any, creator: Creator) -> tuple[int, int]:
    return coin_balance(user_id=viewer.pk), diamond_balance(user_id=creator.user_id)


def test_a_gift_moves_coins_to_the_creator_as_diamonds_and_records_the_send(
    viewer: Any, creator: Creator, live_session: LiveSession, doughnut: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    sent = gift_to(viewer, doughnut, 3, session=live_session)

    assert (sent.count, sent.coins, sent.creator_id, sent.session_id, sent.post_id) == (
        3,
        90,
        creator.pk,
        live_session.pk,
        None,
    )
    assert balances(viewer, creator) == (10_000 - 90, 90)
    row = GiftSend.objects.select_related("transaction").get()
    assert row.pk == sent.pk
    assert row.transaction.kind == Transaction.Kind.GIFT
    assert row.created_at == row.transaction.created_at
    assert DailySpend.objects.get(user_id=viewer.pk).coins == 90


def test_a_replay_with_the_same_key_returns_the_first_gift_and_moves_nothing(
    viewer: Any, creator: Creator, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    first = gift_to(viewer, rose, 5, key="click-1", session=live_session)
    again = gift_to(viewer, rose, 5, key="click-1", session=live_session)

    assert again.pk == first.pk
    assert GiftSend.objects.count() == 1
    assert balances(viewer, creator) == (10_000 - 5, 5)
    assert DailySpend.objects.get(user_id=viewer.pk).coins == 5


@pytest.mark.parametrize("change", ["count", "gift", "target"])
def test_the_same_key_for_a_different_gift_count_or_target_is_a_conflict(
    change: str,
    viewer: Any,
    creator: Creator,
    live_session: LiveSession,
    post: Post,
    rose: Gift,
    catalogue: dict[str, Gift],
    gift_to: Callable[..., GiftSend],
) -> None:
    gift_to(viewer, rose, 5, key="click-1", session=live_session)
    retry: dict[str, Any] = {"gift": rose, "count": 5, "session": live_session}
    if change == "count":
        retry["count"] = 6
    elif change == "gift":
        retry["gift"] = catalogue["Finger Heart"]
        retry["count"] = 1  # 5 coins either way: only the reference tells them apart
    else:
        retry = {"gift": rose, "count": 5, "post": post}

    with pytest.raises(errors.IdempotencyConflict):
        gift_to(viewer, retry.pop("gift"), retry.pop("count"), key="click-1", **retry)
    assert GiftSend.objects.count() == 1
    assert balances(viewer, creator) == (10_000 - 5, 5)


def test_two_viewers_may_use_the_same_key_for_their_own_gifts(
    viewer: Any,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    other = make_user()
    fund(other, 10)
    a = gift_to(viewer, rose, 1, key="same-key", session=live_session)
    b = gift_to(other, rose, 1, key="same-key", session=live_session)
    assert a.pk != b.pk
    assert coin_balance(user_id=other.pk) == 9


@pytest.mark.parametrize("age", [17, None], ids=["17 years old", "no date of birth"])
def test_a_viewer_under_18_is_refused_and_nothing_moves(
    age: int | None,
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    minor = make_user(age=age)
    fund(minor, 100)
    with pytest.raises(errors.AgeRestricted) as refused:
        gift_to(minor, rose, 1, session=live_session)
    assert refused.value.message == errors.AgeRestricted.default_message
    assert balances(minor, creator) == (100, 0)
    assert not GiftSend.objects.exists()


def test_a_viewer_who_turns_18_today_may_gift(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    today = datetime.date.today()
    user = make_user(age=None)
    user.date_of_birth = today.replace(year=today.year - 18) if (today.month, today.day) != (2, 29) else None
    if user.date_of_birth is None:
        pytest.skip("no 18th birthday on 29 February")
    user.save()
    fund(user, 10)
    assert gift_to(user, rose, 1, session=live_session).coins == 1


def test_a_viewer_over_the_daily_cap_is_refused_and_nothing_moves(
    settings: Any,
    viewer: Any,
    creator: Creator,
    live_session: LiveSession,
    gift_to: Callable[..., GiftSend],
    doughnut: Gift,
) -> None:
    settings.DAILY_SPEND_CAP_COINS = 100
    gift_to(viewer, doughnut, 3, session=live_session)  # 90 coins today
    with pytest.raises(errors.DailyCapReached) as refused:
        gift_to(viewer, doughnut, 1, session=live_session)  # 120 > 100
    assert refused.value.message == errors.DailyCapReached.default_message
    assert balances(viewer, creator) == (10_000 - 90, 90)
    assert GiftSend.objects.count() == 1
    assert DailySpend.objects.get(user_id=viewer.pk).coins == 90


def test_a_single_gift_above_the_daily_cap_is_refused(
    settings: Any,
    viewer: Any,
    creator: Creator,
    live_session: LiveSession,
    catalogue: dict[str, Gift],
    gift_to: Callable[..., GiftSend],
) -> None:
    settings.DAILY_SPEND_CAP_COINS = 500
    with pytest.raises(errors.DailyCapReached):
        gift_to(viewer, catalogue["Galaxy"], 1, session=live_session)
    assert balances(viewer, creator) == (10_000, 0)


def test_not_enough_coins_is_refused_with_a_link_to_get_coins(
    make_user: Callable[..., Any],
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    doughnut: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    poor = make_user()
    fund(poor, 50)
    with pytest.raises(errors.InsufficientCoins) as refused:
        gift_to(poor, doughnut, 2, session=live_session)
    assert refused.value.message == services.NOT_ENOUGH_COINS
    assert refused.value.extra == {"coins_needed": 60, "coins_url": "/coins/"}
    assert refused.value.status == 402
    assert balances(poor, creator) == (50, 0)
    assert not GiftSend.objects.exists()
    assert not DailySpend.objects.filter(user_id=poor.pk, coins__gt=0).exists()


def test_a_frozen_wallet_is_refused_and_nothing_moves(
    viewer: Any, creator: Creator, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    wallet_services.set_frozen(
        account=wallet_services.coin_account(user_id=viewer.pk), frozen=True, reason="dispute"
    )
    with pytest.raises(errors.AccountFrozen) as refused:
        gift_to(viewer, rose, 1, session=live_session)
    assert refused.value.message == errors.AccountFrozen.default_message
    assert balances(viewer, creator) == (10_000, 0)


def test_an_ended_session_refuses_gifts(
    viewer: Any, creator: Creator, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    services.end_live_session(session=live_session, ended_by=creator.user)
    with pytest.raises(errors.WrongState) as refused:
        gift_to(viewer, rose, 1, session=live_session)
    assert refused.value.message == services.SESSION_ENDED
    assert balances(viewer, creator) == (10_000, 0)


def test_a_retry_after_the_session_ended_returns_the_gift_that_went_through(
    viewer: Any, creator: Creator, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    first = gift_to(viewer, rose, 2, key="k1", session=live_session)
    services.end_live_session(session=live_session, ended_by=creator.user)
    assert gift_to(viewer, rose, 2, key="k1", session=live_session).pk == first.pk
    with pytest.raises(errors.IdempotencyConflict):
        gift_to(viewer, rose, 3, key="k1", session=live_session)
    assert balances(viewer, creator) == (10_000 - 2, 2)


@pytest.mark.parametrize(
    "status", [Creator.Status.APPLIED, Creator.Status.SUSPENDED, Creator.Status.REJECTED]
)
def test_a_creator_who_is_not_approved_cannot_receive_gifts(
    status: str,
    viewer: Any,
    make_creator: Callable[..., Creator],
    make_session: Callable[..., LiveSession],
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    creator = make_creator(status=status)
    session = make_session(creator)
    with pytest.raises(errors.NotAllowed) as refused:
        gift_to(viewer, rose, 1, session=session)
    assert refused.value.message == services.CREATOR_CANNOT_RECEIVE
    assert balances(viewer, creator) == (10_000, 0)


def test_an_inactive_gift_is_refused(
    viewer: Any, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    Gift.objects.filter(pk=rose.pk).update(active=False)
    rose.refresh_from_db()
    with pytest.raises(errors.InvalidRequest, match=services.GIFT_UNAVAILABLE):
        gift_to(viewer, rose, 1, session=live_session)


def test_a_creator_cannot_gift_themselves(
    fund: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    fund(creator.user, 10)
    with pytest.raises(errors.NotAllowed, match=services.NO_SELF_GIFTS):
        gift_to(creator.user, rose, 1, session=live_session)


@pytest.mark.parametrize("count", [0, -1, 1.5, "3", True, None, services.MAX_COMBO + 1, 10**30], ids=repr)
def test_a_bad_count_is_refused(
    count: Any,
    viewer: Any,
    creator: Creator,
    live_session: LiveSession,
    rose: Gift,
    gift_to: Callable[..., GiftSend],
) -> None:
    with pytest.raises(errors.InvalidRequest, match="combo count"):
        gift_to(viewer, rose, count, session=live_session)
    assert balances(viewer, creator) == (10_000, 0)


@pytest.mark.parametrize("key", ["", " ", "a" * 101, None, "bad key!", 5, "-leading-dash"], ids=repr)
def test_a_bad_idempotency_key_is_refused(
    key: Any, viewer: Any, live_session: LiveSession, rose: Gift
) -> None:
    with pytest.raises(errors.InvalidRequest, match="idempotency key"):
        services.send_gift(sender=viewer, gift=rose, count=1, idempotency_key=key, session=live_session)


def test_a_gift_goes_to_exactly_one_session_or_post(
    viewer: Any, live_session: LiveSession, post: Post, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    with pytest.raises(errors.InvalidRequest, match=services.ONE_TARGET):
        gift_to(viewer, rose, 1)
    with pytest.raises(errors.InvalidRequest, match=services.ONE_TARGET):
        gift_to(viewer, rose, 1, session=live_session, post=post)


def test_a_gift_on_a_post_credits_the_post_creator(
    viewer: Any, creator: Creator, post: Post, catalogue: dict[str, Gift], gift_to: Callable[..., GiftSend]
) -> None:
    sent = gift_to(viewer, catalogue["Hand Hearts"], 2, post=post)
    assert (sent.post_id, sent.session_id, sent.coins) == (post.pk, None, 200)
    assert balances(viewer, creator) == (10_000 - 200, 200)


def test_a_hidden_post_refuses_gifts(
    viewer: Any, creator: Creator, post: Post, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    post.hidden = True
    post.save()
    with pytest.raises(errors.NotAllowed, match=services.POST_UNAVAILABLE):
        gift_to(viewer, rose, 1, post=post)
    assert balances(viewer, creator) == (10_000, 0)


@pytest.mark.django_db(transaction=True)
def test_sending_a_gift_on_a_post_is_one_sql_statement(
    viewer: Any, post: Post, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    gift_to(viewer, rose, 1, post=post)  # a first gift: the measured one is a repeat
    with CaptureQueriesContext(connection) as queries:
        gift_to(viewer, rose, 1, post=post)
    assert len(queries) == 1, [q["sql"] for q in queries]


@pytest.mark.django_db(transaction=True)
def test_a_gift_in_a_live_session_is_one_sql_statement_and_its_broadcast_reads_nothing_in_the_request(
    viewer: Any, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    gift_to(viewer, rose, 1, session=live_session)
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            gift_to(viewer, rose, 1, session=live_session)
        # The gift itself, nothing else: after commit the gift is queued for the live
        # broadcaster, whose thread reads the session's goal and board on its own connection.
        assert len(queries) == 1, [q["sql"] for q in queries]
        assert "wallet_post_transaction" in queries[0]["sql"] and "gifts_giftsend" in queries[0]["sql"]


def test_keys_are_stored_as_sent_and_namespaced_per_sender_in_the_ledger(
    viewer: Any, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    key = str(uuid.uuid4())
    sent = gift_to(viewer, rose, 1, key=key, session=live_session)
    row = GiftSend.objects.select_related("transaction").get(pk=sent.pk)
    assert row.idempotency_key == key
    assert row.transaction.idempotency_key == f"gift:{viewer.pk}:{key}"
