from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Creator(models.Model):
    """A creator profile: applied by a viewer, approved (or rejected) by staff."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="creator")
    handle = models.SlugField(max_length=40, unique=True)
    display_name = models.CharField(max_length=60)
    bio = models.TextField(blank=True)
    category = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPLIED)
    status_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"@{self.handle}"

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class Post(models.Model):
    """A creator's post: a public teaser, and optionally a premium body unlocked with coins."""

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="posts")
    title = models.CharField(max_length=140)
    teaser = models.TextField(blank=True)
    premium_body = models.TextField(blank=True)
    premium_file = models.FileField(upload_to="premium/%Y/%m/", blank=True)
    price_coins = models.PositiveIntegerField(default=0, help_text="0 means the whole post is free.")
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_premium(self) -> bool:
        return self.price_coins > 0
