"""Users and the double-entry ledger.

Money is integers: COIN (what viewers buy and spend) and DIAMOND (what creators earn).
Every transaction's entries sum to zero per unit; entries are append-only (a trigger
refuses UPDATE and DELETE); user and creator balances never go below zero.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.contenttypes.fields import GenericForeignKey
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from wallet.money import format_money


def public_name(display_name: str, user_id: int | None) -> str:
    """What other viewers see of a user: the display name, or "viewer-<id>" (never any part of
    the email address)."""
    return display_name or f"viewer-{user_id}"


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
    REQUIRED_FIELDS = []  # noqa: RUF012

    objects = UserManager()  # type: ignore[misc,assignment]

    def __str__(self) -> str:
        # Audit and report rows store this: an id and the public name, never the email.
        return f"{self.display_name} (#{self.pk})" if self.display_name else self.public_name

    # A new password (changed, reset, set or disabled by staff) ends every API token issued
    # under the old one when the user is saved, as Django's session hash does for sessions.
    _password_replaced = False

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self._password_replaced = True

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_replaced = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        ends_tokens = self._password_replaced and self.pk is not None
        if self._state.adding:
            # Every way a user is created saves it here (sign-up through allauth's adapter, the
            # manager, createsuperuser, the admin's add form, seed_demo): the user's coin wallet
            # is opened with the user, in one transaction. Bulk loaders open theirs explicitly.
            from wallet.services import open_coin_accounts

            with transaction.atomic(using=kwargs.get("using")):
                super().save(*args, **kwargs)
                open_coin_accounts(user_ids=[self.pk])
        else:
            super().save(*args, **kwargs)
        self._password_replaced = False
        if ends_tokens:
            from wallet.auth import revoke_api_tokens

            revoke_api_tokens(user_id=self.pk)

    @property
    def public_name(self) -> str:
        return public_name(self.display_name, self.pk)

    def age_on(self, day: datetime.date) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    def is_at_least(self, years: int) -> bool:
        """Whether the user is `years` old today; an unknown birth date is never old enough."""
        # The site's own time zone, not the request's: the same answer wherever the viewer is
        # (and no lookup of the active time zone on the gift path).
        age = self.age_on(timezone.localdate(timezone=timezone.get_default_timezone()))
        return age is not None and age >= years

    @property
    def is_adult(self) -> bool:
        return self.is_at_least(settings.MINIMUM_AGE_TO_SPEND)


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
        permissions = [("freeze_wallet", "Can freeze and unfreeze wallets")]
        constraints = [
            models.CheckConstraint(
                condition=Q(allow_negative=True) | Q(balance__gte=0), name="account_balance_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["user_coins", "creator_diamonds"]) | Q(allow_negative=False),
                name="account_owned_never_negative",
            ),
            models.UniqueConstraint(fields=["kind", "unit", "owner"], name="account_one_per_owner_kind_unit"),
            models.UniqueConstraint(
                fields=["kind", "unit"],
                condition=Q(owner__isnull=True),
                name="account_one_system_per_kind_unit",
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

    def __str__(self) -> str:
        return f"{self.amount:+d} pending on account {self.account_id}"


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
        REFUND_REVERSAL = "refund_reversal", "Refund failed"
        RECEIVABLE_COVER = "receivable_cover", "Receivable covered"
        EARNINGS_REVERSAL = "earnings_reversal", "Chargeback reversal"
        EARNINGS_RESTORE = "earnings_restore", "Chargeback reversal undone"
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

    def __str__(self) -> str:
        return (
            f"{self.amount:+d} {self.unit} on account {self.account_id} (transaction {self.transaction_id})"
        )


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

    def __str__(self) -> str:
        verdict = "clean" if self.ok else f"{len(self.problems)} problem(s)"
        return f"Ledger check {self.started_at:%Y-%m-%d %H:%M}: {verdict}"


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

    def __str__(self) -> str:
        return f"{self.coins} coins spent by user {self.user_id} on {self.day}"


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


# ---------------------------------------------------------------- buying coins with Stripe


class CoinPurchase(models.Model):
    """One attempt to buy coins: priced on the server, paid through one Stripe PaymentIntent,
    credited at most once (ledger key `purchase-<id>`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the card"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"
        DISPUTE_LOST = "dispute_lost", "Chargeback lost"

    OPEN_STATUSES = (Status.PENDING, Status.PROCESSING)
    CREDITED_STATUSES = (
        Status.PAID,
        Status.PARTIALLY_REFUNDED,
        Status.REFUNDED,
        Status.DISPUTED,
        Status.DISPUTE_LOST,
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coin_purchases"
    )
    # Derived from the caller's idempotency key (`checkout.purchase_token`): one purchase per key,
    # so a double-click, a reload of the form or a retry re-uses this row.
    page_token = models.UUIDField(unique=True)
    package = models.ForeignKey(
        CoinPackage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coins = models.PositiveIntegerField()
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    stripe_setup_intent_id = models.CharField(max_length=255, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, default="")
    stripe_charge_id = models.CharField(max_length=255, blank=True, default="")
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    # Which path credited it first: checkout, page (re-fetch), webhook or reconciliation.
    credit_source = models.CharField(max_length=20, blank=True)
    credit_transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Refunds are cumulative at Stripe (charge.amount_refunded): we keep the highest seen and
    # the coins already taken back for it, so repeated or reordered events take nothing twice.
    refunded_cents = models.PositiveIntegerField(default=0)
    refunded_coins = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_purchase", "Can refund coin purchases")]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_payment_intent_id"],
                condition=~Q(stripe_payment_intent_id=""),
                name="purchase_unique_payment_intent",
            ),
            models.UniqueConstraint(
                fields=["stripe_charge_id"], condition=~Q(stripe_charge_id=""), name="purchase_unique_charge"
            ),
            models.CheckConstraint(
                condition=Q(coins__gt=0) & Q(amount_cents__gt=0), name="purchase_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded_coins__lte=models.F("coins")), name="purchase_refund_within_coins"
            ),
            models.CheckConstraint(
                condition=Q(credited_at__isnull=True)
                | Q(status__in=["paid", "partially_refunded", "refunded", "disputed", "dispute_lost"]),
                name="purchase_credited_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase #{self.pk}: {self.coins} coins for {self.amount_display}"

    @property
    def is_credited(self) -> bool:
        return self.credited_at is not None

    @property
    def amount_display(self) -> str:
        return format_money(self.amount_cents, self.currency)


class PurchaseRefund(models.Model):
    """A staff refund of a purchase (one per purchase; Stripe idempotency key `refund-<purchase id>`)."""

    purchase = models.OneToOneField(CoinPurchase, on_delete=models.PROTECT, related_name="staff_refund")
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Refund of purchase #{self.purchase_id}"


class RefundFailure(models.Model):
    """A refund Stripe reported failed (the money never left): its coins were given back once."""

    purchase = models.ForeignKey(CoinPurchase, on_delete=models.PROTECT, related_name="refund_failures")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    amount_cents = models.PositiveIntegerField()
    coins = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Failed refund {self.stripe_refund_id} of purchase #{self.purchase_id}"


class PurchaseDispute(models.Model):
    """A chargeback on a purchase: coins are taken back once when it opens (or is lost) and
    returned once if it is won."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    purchase = models.ForeignKey(CoinPurchase, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    stripe_status = models.CharField(max_length=40, blank=True)
    amount_cents = models.PositiveIntegerField(default=0)
    coins = models.PositiveIntegerField(default=0)
    clawed_back_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Dispute {self.stripe_dispute_id} ({self.status})"


class CoinReceivable(models.Model):
    """Coins a viewer owes because a refund or chargeback took back coins already spent.

    The ledger holds the total on the RECEIVABLE system account; this row says who owes
    what. The wallet stays frozen until every receivable of the viewer is covered."""

    class Source(models.TextChoices):
        REFUND = "refund", "Refund"
        DISPUTE = "dispute", "Chargeback"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coin_receivables"
    )
    purchase = models.ForeignKey(CoinPurchase, on_delete=models.PROTECT, related_name="receivables")
    dispute = models.ForeignKey(
        PurchaseDispute, null=True, blank=True, on_delete=models.PROTECT, related_name="receivables"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    coins = models.PositiveIntegerField()
    covered_coins = models.PositiveIntegerField(default=0)
    waived_coins = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(coins__gt=0)
                & Q(covered_coins__gte=0)
                & Q(waived_coins__gte=0)
                & Q(coins__gte=models.F("covered_coins") + models.F("waived_coins")),
                name="receivable_within_coins",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} owes {self.outstanding} of {self.coins} coins"

    @property
    def outstanding(self) -> int:
        return self.coins - self.covered_coins - self.waived_coins


class EarningsHold(models.Model):
    """Diamonds a disputed purchase's coins funded (first in, first out): a payout batch does not
    pay them while the dispute is open."""

    dispute = models.ForeignKey(PurchaseDispute, on_delete=models.PROTECT, related_name="earnings_holds")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # The transaction that credited the diamonds, and when (the order payouts consume them in).
    credit_transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="+")
    credit_created_at = models.DateTimeField()
    diamonds = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "credit_transaction", "account"], name="earnings_hold_once_per_credit"
            ),
            models.CheckConstraint(condition=Q(diamonds__gt=0), name="earnings_hold_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.diamonds} diamonds held for dispute {self.dispute_id}"


class EarningsReversal(models.Model):
    """What a refund or lost chargeback took back from one creator credit its coins funded:
    `diamonds_reversed` came back from the creator's unpaid balance (ledger `transaction`),
    `diamonds_lost` had already been paid out and is the platform's loss. A refund that Stripe
    later reports failed undoes its reversals (`undone_at`): the creator gets `diamonds_reversed`
    back (`undo_transaction`) and neither part counts any more."""

    purchase = models.ForeignKey(CoinPurchase, on_delete=models.PROTECT, related_name="earnings_reversals")
    dispute = models.ForeignKey(
        PurchaseDispute, null=True, blank=True, on_delete=models.PROTECT, related_name="earnings_reversals"
    )
    # `dispute-<stripe id>` or `refund-<purchase id>-<coins refunded>`: one reversal per event.
    event_key = models.CharField(max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    credit_transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="+")
    credit_created_at = models.DateTimeField()
    coins = models.BigIntegerField()
    diamonds_reversed = models.BigIntegerField(default=0)
    diamonds_lost = models.BigIntegerField(default=0)
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    # `refund-failed-<stripe refund id>`: the failure that undid this reversal.
    undone_by_event = models.CharField(max_length=200, blank=True)
    undo_transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "credit_transaction", "account"],
                name="earnings_reversal_once_per_credit",
            ),
            models.CheckConstraint(
                condition=Q(coins__gt=0) & Q(diamonds_reversed__gte=0) & Q(diamonds_lost__gte=0),
                name="earnings_reversal_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase #{self.purchase_id}: {self.diamonds_reversed} reversed, {self.diamonds_lost} lost"


class WebhookEvent(models.Model):
    """The inbox: every verified Stripe delivery is stored once (by event id), then processed."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (unhandled type)"
        FAILED = "failed", "Failed"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    outcome = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class ReconciliationRun(models.Model):
    """One pass of `reconcile_stripe` and what it did."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Finished"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    events_since = models.DateTimeField(null=True, blank=True)
    events_checked = models.PositiveIntegerField(default=0)
    purchases_checked = models.PositiveIntegerField(default=0)
    credited = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)
    issues = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class ReconciliationIssue(models.Model):
    """Something Stripe told us that does not match our records; never credited, shown to staff."""

    class Kind(models.TextChoices):
        AMOUNT_MISMATCH = "amount_mismatch", "Amount does not match"
        CURRENCY_MISMATCH = "currency_mismatch", "Currency does not match"
        METADATA_MISMATCH = "metadata_mismatch", "Metadata does not match"
        UNKNOWN_PAYMENT_INTENT = "unknown_payment_intent", "Unknown PaymentIntent"
        UNKNOWN_CHARGE = "unknown_charge", "Unknown charge"
        DUPLICATE_PAYMENT = "duplicate_payment", "Second payment for a credited purchase"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    # One row per (kind, Stripe object, purchase): seeing the same problem again adds nothing.
    dedupe_key = models.CharField(max_length=400, unique=True)
    purchase = models.ForeignKey(
        CoinPurchase, null=True, blank=True, on_delete=models.PROTECT, related_name="reconciliation_issues"
    )
    run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20)
    stripe_object_id = models.CharField(max_length=255, blank=True)
    expected = models.CharField(max_length=255, blank=True)
    found = models.CharField(max_length=255, blank=True)
    resolved = models.BooleanField(default=False)
    resolved_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("resolve_reconciliation_issue", "Can resolve reconciliation issues")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.stripe_object_id}"


# ---------------------------------------------------------------- staff moderation and the audit trail


class AuditEntry(models.Model):
    """One staff action or money correction: who, what, on which row, why, and what changed.

    Append-only: the database refuses UPDATE and DELETE (wallet/sql/moderation.sql)."""

    id = models.BigAutoField(primary_key=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The ledger transaction this action posted, when money moved.
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.action} on {self.target_repr or '-'} by {self.actor or 'system'}"


class AdjustmentRequest(models.Model):
    """A staff correction of one balance against the ADJUSTMENTS system account (ledger key
    `adjustment-<id>`). Above ADJUSTMENT_APPROVAL_THRESHOLD_COINS a second, different staff
    member approves it before anything moves."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved (not applied yet)"
        REJECTED = "rejected", "Rejected"
        APPLIED = "applied", "Applied"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="adjustment_requests")
    # Signed: positive credits the account, negative debits it; in the account's unit.
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True)
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("adjust_balance", "Can request manual balance adjustments"),
            ("approve_adjustment", "Can approve or reject balance adjustments of other staff"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_amount_non_zero"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("requested_by")),
                name="adjustment_approver_not_requester",
            ),
            models.CheckConstraint(
                condition=~Q(status="applied") | Q(transaction__isnull=False),
                name="adjustment_applied_has_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"Adjustment #{self.pk}: {self.amount:+,d} {self.account.unit} on account {self.account_id}"


class Report(models.Model):
    """A viewer's report of a post, a merch item, a live session or a user, worked by staff in admin.

    The target is generic (wallet does not import gifts or creators); one open report per
    reporter per target (a database constraint)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACTIONED = "actioned", "Actioned"
        DISMISSED = "dismissed", "Dismissed"

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or scam"
        HARASSMENT = "harassment", "Harassment or hate"
        SEXUAL = "sexual", "Sexual content"
        VIOLENCE = "violence", "Violence or danger"
        MINOR = "minor", "Involves a minor"
        IMPERSONATION = "impersonation", "Impersonation"
        OTHER = "other", "Something else"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    target_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    target_repr = models.CharField(max_length=255)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("handle_report", "Can action and dismiss reports")]
        indexes = [models.Index(fields=["target_type", "target_id"], name="report_target_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=Q(status="open"),
                name="report_one_open_per_reporter_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} of {self.target_repr} ({self.status})"


class IdempotentRequest(models.Model):
    """The first answer to an action on an existing object whose row cannot hold the caller's
    idempotency key (confirm a purchase, cancel or ship an order). Written in the same database
    transaction as the action (see `wallet.idempotency.once`): a replay of the key gets
    `result` back, the same key with another `fingerprint` is a 409."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_key_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"idempotent request {self.key} of user {self.user_id}"
