"""Creators: profiles, premium posts and unlocks, merch and orders, and the earnings rollups.

Money never lives here: coins and diamonds move only through `wallet.services`; these
rows point at the ledger transactions that moved them.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def premium_upload_to(instance: object, filename: str) -> str:
    # A random name: the original is kept in `premium_file_name`; nothing under MEDIA_ROOT is served by path.
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"premium/{uuid.uuid4().hex}{suffix}"


def merch_upload_to(instance: object, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"merch/{uuid.uuid4().hex}{suffix}"


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
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

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
    premium_file = models.FileField(upload_to=premium_upload_to, blank=True, max_length=200)
    premium_file_name = models.CharField(
        max_length=200, blank=True, help_text="The uploaded file's original name."
    )
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


class Unlock(models.Model):
    """A viewer's paid access to one premium post: one row per (user, post), written in the
    same database transaction as the ledger transaction that charged for it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="unlocks")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="unlocks")
    transaction = models.ForeignKey("wallet.Transaction", on_delete=models.PROTECT, related_name="+")
    coins = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "post"], name="unlock_once_per_user_post"),
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="unlock_key_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} unlocked {self.post}"


class MerchItem(models.Model):
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="merch")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    price_coins = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    stock = models.IntegerField(default=0)
    image = models.ImageField(upload_to=merch_upload_to, blank=True, max_length=200)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="merch_stock_non_negative"),
            models.CheckConstraint(condition=Q(price_coins__gt=0), name="merch_price_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """A merch order. Its coins were debited when placed; the creator's diamonds sit in
    escrow until it ships; a cancellation reverses the placing transaction."""

    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    item = models.ForeignKey(MerchItem, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField()
    unit_price_coins = models.PositiveIntegerField()
    coins = models.PositiveIntegerField()
    diamonds = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED)
    ship_name = models.CharField("full name", max_length=120)
    ship_line1 = models.CharField("address line 1", max_length=200)
    ship_line2 = models.CharField("address line 2", max_length=200, blank=True)
    ship_city = models.CharField("city", max_length=100)
    ship_region = models.CharField("state or region", max_length=100, blank=True)
    ship_postcode = models.CharField("postal code", max_length=20)
    ship_country = models.CharField("country", max_length=2, help_text="Two-letter country code.")
    idempotency_key = models.CharField(max_length=100)
    placed_transaction = models.ForeignKey(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_transaction = models.ForeignKey(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_transaction = models.ForeignKey(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    shipped_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "idempotency_key"], name="order_key_once_per_buyer"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(coins__gt=0) & Q(diamonds__lte=models.F("coins")), name="order_amounts_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.quantity} × {self.item_id})"

    @property
    def can_cancel(self) -> bool:
        return self.status == self.Status.PLACED


class CreatorEarningsDay(models.Model):
    """Rollup: the sum and count of one creator diamond account's ledger entries of one
    transaction kind on one UTC day, for every transaction created before the rollup horizon."""

    account = models.ForeignKey("wallet.Account", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=32)
    diamonds = models.BigIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "kind"], name="earnings_day_one_per_account_day_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.diamonds} diamonds"


class CreatorSupporter(models.Model):
    """Rollup: diamonds one viewer earned one creator (gifts, unlocks, shipped merch), up to the horizon."""

    account = models.ForeignKey("wallet.Account", on_delete=models.PROTECT, related_name="+")
    supporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    diamonds = models.BigIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "supporter"], name="supporter_one_per_account")
        ]
        indexes = [models.Index(fields=["account", "-diamonds"], name="supporter_top_idx")]

    def __str__(self) -> str:
        return f"user {self.supporter_id}: {self.diamonds} diamonds"


class EarningsRollupState(models.Model):
    """The one row saying how far the earnings rollups reach: every ledger transaction created
    before `horizon` is counted in them; later ones are read live from the ledger."""

    horizon = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_entries = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"rolled up to {self.horizon.isoformat()}"
