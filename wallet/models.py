"""Users and the double-entry ledger.

Money is integers: COIN (what viewers buy and spend) and DIAMOND (what creators earn).
Every transaction's entries sum to zero per unit; entries are append-only (a trigger
refuses UPDATE and DELETE); user and creator balances never go below zero.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.STAFF)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        CREATOR = "creator", "Creator"
        STAFF = "staff", "Staff"

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=60, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()  # type: ignore[misc]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]

    def age_on(self, day: datetime.date) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def is_adult(self) -> bool:
        age = self.age_on(timezone.localdate())
        return age is not None and age >= settings.MINIMUM_AGE_TO_SPEND


class Unit(models.TextChoices):
    COIN = "COIN", "Coins"
    DIAMOND = "DIAMOND", "Diamonds"


class Account(models.Model):
    """One balance in one unit.

    `balance` is the settled balance. Accounts in `deferred` posting mode (creator
    diamonds and the system accounts every gift touches) are credited by inserting an
    `AccountDelta` instead of updating this row, so ten thousand gifts to one creator do
    not queue on one row lock; the exact balance is `balance + sum(deltas)` and a rollup
    folds the deltas in. Debits of a non-negative deferred account fold first and then
    take the strict conditional update.
    """

    class Kind(models.TextChoices):
        USER_COINS = "user_coins", "Viewer coin wallet"
        CREATOR_DIAMONDS = "creator_diamonds", "Creator diamonds"
        COIN_ISSUANCE = "coin_issuance", "Coin issuance"
        COIN_SPENT = "coin_spent", "Coins spent"
        DIAMOND_ISSUANCE = "diamond_issuance", "Diamond issuance"
        PAYOUTS_IN_FLIGHT = "payouts_in_flight", "Payouts in flight"
        PAID_OUT = "paid_out", "Paid out"
        RECEIVABLE = "receivable", "Receivables (clawback shortfalls)"
        PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
        ADJUSTMENTS = "adjustments", "Staff adjustments"
        ESCROW = "escrow", "Held earnings (escrow)"

    class Posting(models.TextChoices):
        STRICT = "strict", "Strict (row update)"
        DEFERRED = "deferred", "Deferred (append-only credits, rolled up)"

    OWNED_KINDS = (Kind.USER_COINS, Kind.CREATOR_DIAMONDS)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    unit = models.CharField(max_length=8, choices=Unit.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    posting = models.CharField(max_length=8, choices=Posting.choices, default=Posting.STRICT)
    allow_negative = models.BooleanField(default=False)
    balance = models.BigIntegerField(default=0)
    frozen = models.BooleanField(default=False)
    frozen_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(allow_negative=True) | Q(balance__gte=0), name="account_balance_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["user_coins", "creator_diamonds"]) | Q(allow_negative=False),
                name="account_owned_never_negative",
            ),
            models.UniqueConstraint(
                fields=["kind", "unit", "owner"], name="account_one_per_owner_kind_unit"
            ),
            models.UniqueConstraint(
                fields=["kind", "unit"], condition=Q(owner__isnull=True), name="account_one_system_per_kind_unit"
            ),
        ]

    def __str__(self) -> str:
        who = self.owner if self.owner_id else "system"
        return f"{self.get_kind_display()} ({self.unit}) of {who}"


class AccountDelta(models.Model):
    """An unsettled credit (or system debit) to a deferred account; folded into
    `Account.balance` by `wallet.services.roll_up_account`."""

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deltas", db_index=False)
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account"], name="delta_account_idx")]


class Transaction(models.Model):
    """A balanced set of entries, posted once per idempotency key."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Coin purchase"
        GIFT = "gift", "Gift"
        UNLOCK = "unlock", "Premium unlock"
        MERCH = "merch", "Merch order"
        MERCH_RELEASE = "merch_release", "Merch earnings released"
        MERCH_CANCEL = "merch_cancel", "Merch order cancelled"
        REFUND = "refund", "Refund clawback"
        DISPUTE = "dispute", "Dispute clawback"
        DISPUTE_REVERSAL = "dispute_reversal", "Dispute won"
        RECEIVABLE_COVER = "receivable_cover", "Receivable covered"
        PAYOUT = "payout", "Payout started"
        PAYOUT_SETTLE = "payout_settle", "Payout settled"
        PAYOUT_RETURN = "payout_return", "Payout returned"
        ADJUSTMENT = "adjustment", "Staff adjustment"
        TRANSFER = "transfer", "Transfer"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    fingerprint = models.CharField(max_length=64)
    reference = models.CharField(max_length=200, blank=True)
    memo = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.idempotency_key}"


class Entry(models.Model):
    """One signed leg of a transaction. Append-only: the database refuses UPDATE and DELETE."""

    id = models.BigAutoField(primary_key=True)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    unit = models.CharField(max_length=8, choices=Unit.choices)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["account", "id"], name="entry_account_id_idx")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_non_zero")]


class LedgerCheck(models.Model):
    """One run of the ledger invariant check, and what it found."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    problems = models.JSONField(default=list)
    transactions_checked = models.BigIntegerField(default=0)
    accounts_checked = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"


class DailySpend(models.Model):
    """Coins a viewer spent on one UTC day, for the daily cap (updated in the spending transaction)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    coins = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="daily_spend_one_per_day"),
            models.CheckConstraint(condition=Q(coins__gte=0), name="daily_spend_non_negative"),
        ]


class CoinPackage(models.Model):
    """A coin bundle sold for a price in the smallest currency unit."""

    name = models.CharField(max_length=60)
    coins = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "coins"]
        constraints = [
            models.CheckConstraint(condition=Q(coins__gt=0) & Q(price_cents__gt=0), name="package_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.coins} coins for {self.price_cents / 100:.2f} {self.currency.upper()}"
