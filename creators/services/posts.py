"""Premium posts: publishing, and unlocking with coins (once per viewer and post)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from creators import errors as creator_errors
from creators.models import Creator, Post, Unlock
from wallet import errors, idempotency
from wallet.models import Transaction, User
from wallet.services import (
    creator_share,
    spend_coins,
)

MAX_PRICE_COINS = 1_000_000


def publish_post(
    *,
    creator: Creator,
    title: str,
    teaser: str,
    premium_body: str,
    price_coins: int,
    premium_file: UploadedFile | None = None,
) -> Post:
    """Publish a post; the premium part (body and/or file) is shown only after an unlock when priced."""
    if not creator.is_approved:
        raise errors.NotAllowed(creator_errors.POST_NOT_APPROVED)
    if not 0 <= price_coins <= MAX_PRICE_COINS:
        raise errors.InvalidRequest(creator_errors.POST_PRICE_INVALID.format(max=MAX_PRICE_COINS))
    if price_coins and not premium_body.strip() and premium_file is None:
        raise errors.InvalidRequest(creator_errors.PRICED_POST_NEEDS_BODY)
    post = Post(
        creator=creator,
        title=title.strip(),
        teaser=teaser.strip(),
        premium_body=premium_body.strip(),
        price_coins=price_coins,
    )
    if premium_file is not None:
        post.premium_file_name = (premium_file.name or "file")[-200:]
        # FileField.save stores the upload under MEDIA_ROOT with a random name and saves the row.
        post.premium_file.save(premium_file.name or "file", premium_file, save=False)
    post.save()
    return post


@dataclass(frozen=True)
class UnlockResult:
    unlock: Unlock
    charged: bool
    # A retry with the key of the request that charged: it answers as that request did.
    replay: bool = False

    @property
    def message(self) -> str:
        if self.charged or self.replay:
            return creator_errors.UNLOCKED.format(coins=self.unlock.coins)
        return creator_errors.ALREADY_UNLOCKED


class _ChargedElsewhere(Exception):
    """A concurrent request charged this unlock first; roll back and read its row."""


def unlock_post(*, user: User, post_id: int, idempotency_key: str) -> UnlockResult:
    """Charge `user` the post's price once and record the unlock in the same transaction.

    A second unlock (any key) charges nothing and returns the first. The ledger key is
    per (user, post), so even two concurrent requests with different keys charge once.
    A replay of the key that charged answers as that request did, even after the post was
    hidden or its creator suspended (the first answer was lost, not refused).
    """
    idempotency.check_key(idempotency_key)
    # The replay lookup comes before the availability checks below.
    prior = Unlock.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if prior is not None:
        if prior.post_id != post_id:
            raise errors.IdempotencyConflict()
        return UnlockResult(unlock=prior, charged=False, replay=True)
    post = (
        Post.objects.select_related("creator")
        .filter(pk=post_id, hidden=False, creator__status=Creator.Status.APPROVED)
        .first()
    )
    if post is None:
        raise errors.NotFound(creator_errors.POST_NOT_FOUND)
    if post.creator.user_id == user.pk:
        raise errors.InvalidRequest(creator_errors.OWN_POST, code="own_post")
    if not post.is_premium:
        raise errors.InvalidRequest(creator_errors.FREE_POST, code="free_post")
    existing = Unlock.objects.filter(user=user, post=post).first()
    if existing is not None:
        return UnlockResult(unlock=existing, charged=False)
    try:
        with transaction.atomic():
            spend = spend_coins(
                spender=user,
                coins=post.price_coins,
                creator_user_id=post.creator.user_id,
                diamonds=creator_share(post.price_coins),
                kind=Transaction.Kind.UNLOCK,
                idempotency_key=f"unlock-{user.pk}-{post.pk}",
                reference=f"post:{post.pk}",
                memo=post.title[:200],
            )
            if not spend.transaction.created:
                raise _ChargedElsewhere
            unlock = Unlock.objects.create(
                user=user,
                post=post,
                transaction_id=spend.transaction.id,
                coins=post.price_coins,
                idempotency_key=idempotency_key,
            )
    except (_ChargedElsewhere, IntegrityError) as exc:
        existing = Unlock.objects.filter(user=user, post=post).first()
        if existing is None:
            # The key was taken by a concurrent unlock of another post.
            raise errors.IdempotencyConflict() from exc
        return UnlockResult(
            unlock=existing, charged=False, replay=existing.idempotency_key == idempotency_key
        )
    return UnlockResult(unlock=unlock, charged=True)
