"""Writes for gifts: sending a gift (the hot path), starting and ending live sessions.

`send_gift` is the hot path (benchmarked). Once the caller has loaded the gift and the
session (or post) with its creator, a gift is ONE SQL statement: the wallet's posting
statement (the same one `wallet.services.spend_coins` runs: debit, credit and daily cap)
wrapped with the GiftSend insert, so both commit together, with no savepoint in autocommit;
a replay of the key reads the first GiftSend in that same statement.
The sender's age is checked in Python before it. The statement names the accounts by kind
and owner and looks their ids up itself (no per-process cache). After commit the gift is
queued for the live broadcaster (`gifts.live_updates`), which sends a session's gifts in
batches.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from creators.models import Creator, Post
from creators.services import stream_keys
from gifts import live_updates, permissions
from gifts.errors import (
    ALREADY_LIVE,
    COUNT_INVALID,
    CREATOR_CANNOT_RECEIVE,
    GIFT_UNAVAILABLE,
    GOAL_COUNT_INVALID,
    GOAL_INCOMPLETE,
    NO_SELF_GIFTS,
    NOT_A_CREATOR,
    NOT_ENOUGH_COINS,
    NOT_YOUR_SESSION,
    ONE_TARGET,
    POST_UNAVAILABLE,
    SESSION_ENDED,
    TITLE_INVALID,
)
from gifts.models import MAX_COMBO, MAX_GOAL_COUNT, Gift, GiftSend, LiveSession
from wallet import errors, idempotency
from wallet.models import Transaction, User
from wallet.moderation import audit, reports
from wallet.services import daily_cap_for, execute_posting, posting_statement, spending_legs

COINS_URL = "/coins/"


def gift_ledger_key(*, sender_id: int, idempotency_key: str) -> str:
    # Namespaced by sender: one viewer's key can never collide with (or replay) another's gift.
    return f"gift:{sender_id}:{idempotency_key}"


def _check_request(*, count: object, idempotency_key: object) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COMBO:
        raise errors.InvalidRequest(COUNT_INVALID, extra={"field": "count"})
    idempotency.check_key(idempotency_key)


def _prior_send(*, sender: User, idempotency_key: str) -> GiftSend | None:
    return (
        GiftSend.objects.select_related("gift", "sender", "creator", "session", "post")
        .filter(
            transaction__idempotency_key=gift_ledger_key(sender_id=sender.pk, idempotency_key=idempotency_key)
        )
        .first()
    )


def _refuse(
    error: errors.CoinSiteError,
    *,
    sender: User,
    gift: Gift,
    count: int,
    idempotency_key: str,
    session: LiveSession | None,
    post: Post | None,
) -> GiftSend:
    """A retry of a gift that went through before the session ended gets that gift back (the
    first response was lost, not refused); anything else is refused with `error`."""
    prior = _prior_send(sender=sender, idempotency_key=idempotency_key)
    if prior is None:
        raise error
    same = (
        prior.gift_id == gift.pk
        and prior.count == count
        and prior.session_id == (session.pk if session else None)
        and prior.post_id == (post.pk if post else None)
    )
    if not same:
        raise errors.IdempotencyConflict()
    return prior


def gift_refusal(
    *, session: LiveSession | None = None, post: Post | None = None, gift: Gift | None = None
) -> errors.CoinSiteError | None:
    """Why the live session or post (given with its creator loaded) can't receive a gift now,
    or `gift` can't be sent: the error `send_gift` refuses with, None when nothing stands in
    the way. Pages show its message on the gift panel; the rule lives only here."""
    if session is not None and not session.is_live:
        return errors.WrongState(SESSION_ENDED)
    if post is not None and post.hidden:
        return errors.NotAllowed(POST_UNAVAILABLE)
    if gift is not None and not gift.active:
        return errors.InvalidRequest(GIFT_UNAVAILABLE, extra={"field": "gift"})
    target = session if session is not None else post
    if target is not None and not target.creator.is_approved:
        return errors.NotAllowed(CREATOR_CANNOT_RECEIVE)
    return None


def send_gift(
    *,
    sender: User,
    gift: Gift,
    count: int,
    idempotency_key: str,
    session: LiveSession | None = None,
    post: Post | None = None,
) -> GiftSend:
    """The viewer sends `count` x `gift` to a live session or a post: coins move from the
    viewer to the creator (as diamonds, one per coin) and a `GiftSend` is recorded, in one
    database transaction. A replay of `idempotency_key` returns the first GiftSend and moves
    nothing; the same key for a different gift, count or target raises IdempotencyConflict.

    Raises InvalidRequest, AgeRestricted, DailyCapReached, InsufficientCoins, AccountFrozen,
    WrongState (ended session), NotAllowed (creator not approved, hidden post, own gift).
    `session` and `post` must come with their `creator` loaded.
    """
    _check_request(count=count, idempotency_key=idempotency_key)
    if (session is None) == (post is None):
        raise errors.InvalidRequest(ONE_TARGET)
    if session is not None:
        creator: Creator = session.creator
        target = f"session:{session.pk}"
    else:
        assert post is not None
        creator = post.creator
        target = f"post:{post.pk}"
    refusal = gift_refusal(session=session, post=post, gift=gift)
    if refusal is not None:
        return _refuse(
            refusal,
            sender=sender,
            gift=gift,
            count=count,
            idempotency_key=idempotency_key,
            session=session,
            post=post,
        )
    if creator.user_id == sender.pk:
        raise errors.NotAllowed(NO_SELF_GIFTS)

    coins = gift.coins * count
    legs = spending_legs(spender_id=sender.pk, coins=coins, creator_user_id=creator.user_id, diamonds=coins)
    posting, posting_params = posting_statement(
        kind=Transaction.Kind.GIFT,
        legs=legs,
        idempotency_key=gift_ledger_key(sender_id=sender.pk, idempotency_key=idempotency_key),
        # The reference is part of the ledger's fingerprint: the same key for another gift,
        # count or target is a conflict (409), not a replay.
        reference=f"gift:{gift.pk}x{count}:{target}",
        memo=f"{gift.name} x{count} to @{creator.handle}",
        daily_cap=daily_cap_for(sender, coins),
    )
    # One statement, so one round trip and atomic on its own: the posting (debit, credit and
    # daily cap) and the GiftSend row commit together or not at all.
    sql = f"""
        WITH posted AS ({posting}),
        recorded AS (
            INSERT INTO gifts_giftsend (sender_id, creator_id, session_id, post_id, gift_id, count, coins,
                                        transaction_id, idempotency_key, created_at)
            SELECT %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::integer, %s::bigint,
                   posted.transaction_id, %s::text, now()
              FROM posted WHERE posted.created
            RETURNING id, created_at
        )
        SELECT posted.transaction_id, recorded.id, recorded.created_at, prior.id, prior.created_at
          FROM posted
          LEFT JOIN recorded ON true
          LEFT JOIN gifts_giftsend prior ON NOT posted.created AND prior.transaction_id = posted.transaction_id
    """
    params = [
        *posting_params,
        sender.pk,
        creator.pk,
        session.pk if session is not None else None,
        post.pk if post is not None else None,
        gift.pk,
        count,
        coins,
        idempotency_key,
    ]
    try:
        rows = execute_posting(sql, params)
    except errors.InsufficientCoins as exc:
        raise errors.InsufficientCoins(
            NOT_ENOUGH_COINS, extra={"coins_needed": coins, "coins_url": COINS_URL}
        ) from exc
    transaction_id, gift_send_id, created_at, prior_id, prior_created_at = rows[0]
    if gift_send_id is None:
        # A replay: the first request's gift, recorded with its ledger transaction. The same
        # statement read it (its ledger reference pins the same gift, count and target), unless
        # the first request committed while this statement waited on its key: then read it now.
        if prior_id is None:
            return GiftSend.objects.select_related("gift", "sender").get(transaction_id=transaction_id)
        gift_send_id, created_at = prior_id, prior_created_at
    # The row as inserted (by this request or the first), with the objects the caller passed in
    # as its related objects (set by id and cached directly: the relation setters cost more
    # than the rest of this).
    gift_send = GiftSend(
        id=gift_send_id,
        sender_id=sender.pk,
        creator_id=creator.pk,
        session_id=session.pk if session is not None else None,
        post_id=post.pk if post is not None else None,
        gift_id=gift.pk,
        count=count,
        coins=coins,
        transaction_id=transaction_id,
        idempotency_key=idempotency_key,
        created_at=created_at,
    )
    gift_send._state.adding, gift_send._state.db = False, "default"
    gift_send._state.fields_cache.update(
        sender=sender, creator=creator, gift=gift, session=session, post=post
    )
    if session is not None and prior_id is None:
        live_updates.broadcast_gift_on_commit(gift_send)
    return gift_send


def start_live_session(
    *, creator: Creator, title: str, goal_gift: Gift | None = None, goal_count: int | None = None
) -> LiveSession:
    """An approved creator goes live, optionally with a goal such as 1,000 roses."""
    if creator.status != Creator.Status.APPROVED:
        raise errors.NotAllowed(NOT_A_CREATOR)
    title = title.strip()
    if not title or len(title) > 120:
        raise errors.InvalidRequest(TITLE_INVALID, extra={"field": "title"})
    if (goal_gift is None) != (goal_count is None):
        raise errors.InvalidRequest(GOAL_INCOMPLETE, extra={"field": "goal_count"})
    if goal_count is not None and (
        not isinstance(goal_count, int)
        or isinstance(goal_count, bool)
        or not 1 <= goal_count <= MAX_GOAL_COUNT
    ):
        raise errors.InvalidRequest(GOAL_COUNT_INVALID, extra={"field": "goal_count"})
    if goal_gift is not None and not goal_gift.active:
        raise errors.InvalidRequest(GIFT_UNAVAILABLE, extra={"field": "goal_gift"})
    try:
        with transaction.atomic():
            return LiveSession.objects.create(
                creator=creator, title=title, goal_gift=goal_gift, goal_count=goal_count
            )
    except IntegrityError as exc:
        # live_session_one_live_per_creator: a second tab (or a double click) started one already.
        raise errors.WrongState(ALREADY_LIVE) from exc


END_PERMISSION = permissions.END_LIVE_SESSION
SESSION_FIELDS = ("status", "ended_at")


def end_live_session(*, session: LiveSession, ended_by: User, reason: str = "") -> LiveSession:
    """The creator ends their live session, or staff with the end permission end anyone's, giving
    a reason (audited, and the session's open reports are marked actioned); every open live page
    is told."""
    as_staff = session.creator.user_id != ended_by.pk
    if as_staff and not (ended_by.is_active and ended_by.has_perm(END_PERMISSION)):
        raise errors.NotAllowed(NOT_YOUR_SESSION)
    if as_staff:
        reason = audit.require_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        before = audit.snapshot(session, SESSION_FIELDS)
        ended = LiveSession.objects.filter(pk=session.pk, status=LiveSession.Status.LIVE).update(
            status=LiveSession.Status.ENDED, ended_at=now
        )
        if not ended:
            raise errors.WrongState(SESSION_ENDED)
        session.status, session.ended_at = LiveSession.Status.ENDED, now
        if as_staff:
            audit.record(
                actor=ended_by,
                action="livesession.end",
                target=session,
                reason=reason,
                before=before,
                after=audit.snapshot(session, SESSION_FIELDS),
            )
            reports.action_open_reports(target=session, staff=ended_by, note=f"Live session ended: {reason}")
        live_updates.broadcast_ended_on_commit(session)
        stream_keys.cut_stream(creator_id=session.creator_id)  # the video ends with the session
    return session
