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

from wallet.money import format_money


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

    class Meta:
        # Staff powers over a creator and their content (hide_content: their posts and merch items).
        permissions = [
            ("review_creator", "Can approve and reject creator applications"),
            ("suspend_creator", "Can suspend and reinstate creators"),
            ("hide_content", "Can hide and show posts and merch items"),
        ]

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
    # Staff hid it (moderation): it stays hidden, whatever the creator's listing says, until
    # staff show it again.
    hidden_by_staff = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="merch_stock_non_negative"),
            models.CheckConstraint(
                condition=Q(hidden_by_staff=False) | Q(hidden=True), name="merch_hidden_by_staff_is_hidden"
            ),
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
        permissions = [
            ("cancel_order", "Can cancel merch orders (returns the coins)"),
            ("ship_order", "Can mark other creators' merch orders shipped (releases their escrow)"),
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


# ---------------------------------------------------------------- payouts


class PayoutAccount(models.Model):
    """Where a creator's payouts go: a Stripe Connect account (`acct_...`) or, offline, the
    in-project `local` provider. Only a verified account is paid."""

    class Provider(models.TextChoices):
        STRIPE_CONNECT = "stripe_connect", "Stripe Connect"
        LOCAL = "local", "Local (offline)"

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Waiting for verification"
        VERIFIED = "verified", "Verified"

    creator = models.OneToOneField(Creator, on_delete=models.PROTECT, related_name="payout_account")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    destination = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNVERIFIED)
    status_reason = models.CharField(max_length=255, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Its own permission: whoever runs or approves payout batches cannot also vouch for where they go.
        permissions = [("verify_payoutaccount", "Can verify creators' payout accounts")]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "destination"], name="payout_account_one_per_destination"
            ),
            models.CheckConstraint(
                condition=~Q(provider="stripe_connect") | Q(destination__startswith="acct_"),
                name="payout_account_stripe_destination",
            ),
            models.CheckConstraint(condition=~Q(destination=""), name="payout_account_destination_set"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.destination} of {self.creator}"

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED


class PayoutBatch(models.Model):
    """One payout run: every creator eligible when it was created, one `Payout` each. One batch
    per `period` (the weekly run uses the ISO week), so concurrent runs share it."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Waiting for staff approval"
        PROCESSING = "processing", "Processing"
        FINISHED = "finished", "Finished"
        REJECTED = "rejected", "Rejected"

    period = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    currency = models.CharField(max_length=3)
    diamond_value_millicents = models.PositiveIntegerField()
    total_cents = models.BigIntegerField(default=0)
    total_diamonds = models.BigIntegerField(default=0)
    payouts_planned = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=255, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "payout batches"
        permissions = [("approve_payoutbatch", "Can approve or reject payout batches and retry payouts")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_cents__gte=0) & Q(total_diamonds__gte=0),
                name="payout_batch_totals_non_negative",
            ),
            # Whoever created (ran) a batch may reject it, never approve it.
            models.CheckConstraint(
                condition=Q(status="rejected")
                | Q(created_by__isnull=True)
                | Q(decided_by__isnull=True)
                | ~Q(decided_by=models.F("created_by")),
                name="payout_batch_not_approved_by_creator",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout batch {self.period}"


class Payout(models.Model):
    """One creator's share of a batch: `diamonds` leave the creator's balance for exactly
    `amount_cents` (= diamonds_to_cents(diamonds, rate), a database rule: the CHECK calls
    `wallet_diamonds_to_cents`).

    Each attempt moves the diamonds once (ledger key `<key>-start`), asks the provider once per
    key (`payout-<id>`, then `payout-<id>-a<n>` for staff retries; the provider dedupes), and
    then either settles (`<key>-settle`) or returns them (`<key>-return`), all keyed, so a crash
    at any point is repaired by running the same step again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed (diamonds returned)"
        SKIPPED = "skipped", "Skipped (not eligible any more)"
        CANCELLED = "cancelled", "Cancelled"
        REVERSED = "reversed", "Reversed (diamonds returned)"

    OPEN_STATUSES = (Status.PENDING, Status.IN_FLIGHT)
    DONE_STATUSES = (Status.PAID, Status.REVERSED)

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="payouts")
    account = models.ForeignKey(PayoutAccount, on_delete=models.PROTECT, related_name="payouts")
    # Where the money goes, fixed when the batch was made: a changed account never redirects a payout in flight.
    provider = models.CharField(max_length=20, choices=PayoutAccount.Provider.choices)
    destination = models.CharField(max_length=255)
    diamonds = models.BigIntegerField()
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    diamond_value_millicents = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveIntegerField(default=1)
    # A worker driving the payout holds it until then; a crashed worker's claim simply runs out.
    lease_until = models.DateTimeField(null=True, blank=True)
    provider_calls = models.PositiveIntegerField(default=0)
    provider_reference = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    reversed_cents = models.BigIntegerField(default=0)
    returned_diamonds = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Claiming walks only the open payouts of a batch, in id order.
            models.Index(
                fields=["batch", "id"],
                name="payout_open_idx",
                condition=Q(status__in=["pending", "in_flight"]),
            ),
            models.Index(
                fields=["provider_reference"],
                name="payout_provider_ref_idx",
                condition=~Q(provider_reference=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "creator"], name="payout_once_per_batch_creator"),
            # At most one payout of a creator is waiting or moving money at any time.
            models.UniqueConstraint(
                fields=["creator"],
                condition=Q(status__in=["pending", "in_flight"]),
                name="payout_one_open_per_creator",
            ),
            models.CheckConstraint(
                condition=Q(diamonds__gt=0) & Q(amount_cents__gt=0), name="payout_amounts_positive"
            ),
            # The rule is wallet's SQL function (wallet/sql/money.sql), twin of
            # wallet.earnings.diamonds_to_cents.
            models.CheckConstraint(
                condition=Q(
                    amount_cents=models.Func(
                        models.F("diamonds"),
                        models.F("diamond_value_millicents"),
                        function="wallet_diamonds_to_cents",
                        output_field=models.BigIntegerField(),
                    )
                ),
                name="payout_cents_match_diamonds",
            ),
            models.CheckConstraint(
                condition=Q(reversed_cents__gte=0)
                & Q(reversed_cents__lte=models.F("amount_cents"))
                & Q(returned_diamonds__gte=0)
                & Q(returned_diamonds__lte=models.F("diamonds")),
                name="payout_reversal_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk} of {self.diamonds} diamonds to {self.creator}"

    @property
    def provider_key(self) -> str:
        """The provider idempotency key of the current attempt (also the ledger keys' stem)."""
        return f"payout-{self.pk}" if self.attempt == 1 else f"payout-{self.pk}-a{self.attempt}"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount_cents, self.currency)


class LocalTransfer(models.Model):
    """The `local` payout provider's own record of each transfer it was asked for: one row per
    idempotency key (a repeated request returns this row), paid or refused."""

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    idempotency_key = models.CharField(max_length=200, unique=True)
    payout_id = models.BigIntegerField(db_index=True)
    destination = models.CharField(max_length=255)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices)
    failure_code = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="local_transfer_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"local transfer {self.idempotency_key} ({self.status})"

    @property
    def reference(self) -> str:
        return f"ltr_{self.pk}"


class StreamKey(models.Model):
    """A creator's RTMP stream key, stored as its SHA-256 (the key itself is shown once, when it
    is issued). Issuing a new key revokes the old one. The media server's publish callbacks
    keep the stream's state here: the public stream name viewers play (`live-<session id>`),
    since when it is publishing and over which connection, and when it last disconnected (for the reconnect grace)."""

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="stream_keys")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    stream_name = models.CharField(max_length=40, blank=True)
    publishing_since = models.DateTimeField(null=True, blank=True)
    # The media server's id of the connection publishing now: a late publish_done from an
    # earlier connection (a reconnect that overtook it) must not mark the stream down.
    publisher_client_id = models.CharField(max_length=20, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creator"],
                condition=Q(revoked_at__isnull=True),
                name="stream_key_one_active_per_creator",
            ),
        ]

    def __str__(self) -> str:
        return f"stream key of {self.creator} ({'revoked' if self.revoked_at else 'active'})"

    @property
    def is_publishing(self) -> bool:
        return self.publishing_since is not None
