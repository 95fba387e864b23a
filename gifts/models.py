from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from creators.models import Creator


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


class LiveSession(models.Model):
    class Status(models.TextChoices):
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="live_sessions")
    title = models.CharField(max_length=120)
    goal_gift = models.ForeignKey(Gift, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    goal_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.LIVE)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creator"], condition=Q(status="live"), name="live_session_one_live_per_creator"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.creator})"
