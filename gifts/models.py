from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from creators.models import Creator, Post
from wallet.models import Transaction

# The largest combo (gifts of one kind sent at once) and the largest live-session goal.
MAX_COMBO = 9_999
MAX_GOAL_COUNT = 1_000_000
# From this price a gift takes over the live video area when it is sent (Money Gun and up).
BIG_GIFT_COINS = 500


class Gift(models.Model):
    """A gift in the catalogue, priced in coins."""

    name = models.CharField(max_length=40, unique=True)
    coins = models.PositiveIntegerField()
    emoji = models.CharField(max_length=16, blank=True)
    image = models.ImageField(upload_to="gifts/", blank=True)
    active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "coins"]
        constraints = [models.CheckConstraint(condition=Q(coins__gt=0), name="gift_price_positive")]

    def __str__(self) -> str:
        return f"{self.emoji} {self.name} ({self.coins} coins)".strip()

    @property
    def animation_tier(self) -> str:
        """How the live page animates it: "big" gifts take over the video area, "small" ones
        slide into the feed."""
        return "big" if self.coins >= BIG_GIFT_COINS else "small"


class LiveSession(models.Model):
    """A creator's live broadcast; gifts are sent to it while it is live."""

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="live_sessions")
    title = models.CharField(max_length=120)
    goal_gift = models.ForeignKey(Gift, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    goal_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.LIVE)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creator"], condition=Q(status="live"), name="live_session_one_live_per_creator"
            ),
            models.CheckConstraint(
                condition=Q(goal_gift__isnull=True, goal_count__isnull=True)
                | Q(goal_gift__isnull=False, goal_count__gt=0),
                name="live_session_goal_complete",
            ),
            models.CheckConstraint(
                condition=Q(status="live", ended_at__isnull=True) | Q(status="ended", ended_at__isnull=False),
                name="live_session_ended_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["-started_at"], condition=Q(status="live"), name="live_session_live_idx"),
        ]
        permissions = [("end_live_session", "Can end live sessions")]

    def __str__(self) -> str:
        return f"{self.title} ({self.creator})"

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE

    @property
    def has_goal(self) -> bool:
        return self.goal_gift_id is not None and bool(self.goal_count)


class GiftSend(models.Model):
    """One gift (with its combo count) sent to a live session or a post; written in the same
    database transaction as its ledger transaction, so the two exist together or not at all.

    Foreign keys carry no single-column indexes: every read goes through the covering
    indexes below (boards, feeds, goal progress), and each index costs the hot insert.
    """

    id = models.BigAutoField(primary_key=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gifts_sent", db_index=False
    )
    creator = models.ForeignKey(
        Creator, on_delete=models.PROTECT, related_name="gifts_received", db_index=False
    )
    session = models.ForeignKey(
        LiveSession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gift_sends",
        db_index=False,
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.PROTECT, related_name="gift_sends", db_index=False
    )
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="+", db_index=False)
    count = models.PositiveIntegerField()
    coins = models.BigIntegerField()
    # The ledger transaction's key is unique and namespaced by sender, so this one-to-one
    # also makes (sender, idempotency_key) unique without another index on the hot insert.
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="gift_send")
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(count__gt=0), name="gift_send_count_positive"),
            models.CheckConstraint(condition=Q(coins__gt=0), name="gift_send_coins_positive"),
            models.CheckConstraint(
                condition=Q(session__isnull=False, post__isnull=True)
                | Q(session__isnull=True, post__isnull=False),
                name="gift_send_to_session_or_post",
            ),
        ]
        indexes = [
            # Session feed (newest first), board, goal progress: index-only scans.
            models.Index(
                fields=["session", "id"],
                include=["sender", "gift", "count", "coins"],
                condition=Q(session__isnull=False),
                name="gift_send_session_idx",
            ),
            # All-time board per creator.
            models.Index(fields=["creator", "sender"], include=["coins"], name="gift_send_creator_idx"),
            models.Index(
                fields=["post", "id"],
                include=["sender", "coins"],
                condition=Q(post__isnull=False),
                name="gift_send_post_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gift.name} x{self.count} from {self.sender} to {self.creator}"


# ---------------------------------------------------------------- the live room (chat and moderation)

CHAT_MAX_LENGTH = 200


class ChatMessage(models.Model):
    """A viewer's message in a live session's chat. Stored so it can be reported and moderated;
    a deleted message keeps its row (reports and the audit trail point at it) but is shown to no one."""

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        LiveSession, on_delete=models.PROTECT, related_name="chat_messages", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_messages", db_index=False
    )
    text = models.CharField(max_length=CHAT_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            # varchar(200) bounds the length; a message is never blank.
            models.CheckConstraint(condition=Q(text__regex=r"\S"), name="chat_message_not_blank"),
        ]
        indexes = [
            # The room's recent history (newest first) and the author's recent messages (rate limit).
            models.Index(fields=["session", "id"], name="chat_message_session_idx"),
            models.Index(fields=["author", "created_at"], name="chat_message_author_idx"),
        ]
        permissions = [("moderate_chat", "Can delete chat messages as staff")]

    def __str__(self) -> str:
        return f"{self.author.public_name} in “{self.session.title}”: {self.text}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class RoomRules(models.Model):
    """What a creator allows in the chat of their live sessions."""

    creator = models.OneToOneField(
        Creator, on_delete=models.CASCADE, related_name="room_rules", primary_key=True
    )
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    links_allowed = models.BooleanField(default=False)
    blocked_words = models.TextField(
        blank=True, help_text="One word or phrase a line; matched case-insensitively."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(slow_mode_seconds__lte=3600), name="room_rules_slow_mode_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Room rules of {self.creator}"


class RoomModerator(models.Model):
    """A viewer the creator appointed to moderate the chat of their live sessions."""

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="room_moderators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    appointed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creator", "user"], name="room_moderator_unique")]

    def __str__(self) -> str:
        return f"{self.user} moderates {self.creator}"


class RoomBan(models.Model):
    """A user kept out of a creator's chat: until a time (a timeout) or for good (`until` empty)."""

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="room_bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["creator", "user"], name="room_ban_unique")]

    def __str__(self) -> str:
        return f"{self.user} {'banned' if self.until is None else 'timed out'} by {self.creator}"


class OverlayKey(models.Model):
    """The secret in a creator's OBS overlay URL (`/overlay/<key>/`), stored as its SHA-256: the URL
    is shown once, when it is issued; issuing a new one makes the old URL stop working."""

    creator = models.OneToOneField(
        Creator, on_delete=models.CASCADE, related_name="overlay_key", primary_key=True
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Overlay of {self.creator}"
