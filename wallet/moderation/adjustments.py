"""Manual balance adjustments: staff credit or debit a viewer's coins or a creator's diamonds
against the ADJUSTMENTS system account, one ledger transaction per request (key
`adjustment-<request id>`, so applying twice moves nothing twice).

An adjustment waits for a second, different staff member's approval when, added to what its
requester applied alone to the same account today (debits and credits both count), it comes to
more than ADJUSTMENT_APPROVAL_THRESHOLD_COINS (in the account's unit); otherwise it is applied at
once. Nobody requests or approves an adjustment of an account they own. An approved
adjustment that cannot be applied (a debit larger than the balance) stays approved, with the
reason in `last_error`, until it is applied or rejected."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Func, Sum
from django.utils import timezone

from wallet import errors, selectors, services
from wallet.models import Account, AdjustmentRequest, Transaction, User
from wallet.moderation import audit

ADJUSTABLE_KINDS = Account.OWNED_KINDS
# A sanity bound against typos (an extra zero is a second approval; ten extra are refused).
MAX_ADJUSTMENT = 1_000_000_000
REQUEST_PERMISSION = "wallet.adjust_balance"
APPROVE_PERMISSION = "wallet.approve_adjustment"
REQUEST_FIELDS = ("status", "approved_by", "rejected_by", "decision_note", "transaction")


def needs_approval(amount: int, *, applied_today: int = 0) -> bool:
    return applied_today + abs(amount) > settings.ADJUSTMENT_APPROVAL_THRESHOLD_COINS


def _start_of_today() -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))


def applied_alone_today(*, account_id: int, staff: User) -> int:
    """What `staff` applied to the account today without a second approval (sum of sizes)."""
    total = AdjustmentRequest.objects.filter(
        account_id=account_id,
        requested_by=staff,
        approved_by__isnull=True,
        status=AdjustmentRequest.Status.APPLIED,
        created_at__gte=_start_of_today(),
    ).aggregate(total=Sum(Func("amount", function="abs")))["total"]
    return int(total or 0)


def _refuse_own_account(account: Account, staff: User) -> None:
    if account.owner_id is not None and account.owner_id == staff.pk:
        raise errors.NotAllowed(errors.ADJUSTMENT_OWN_ACCOUNT, code="own_account")


def check_amount(amount: object) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise errors.InvalidRequest(errors.ADJUSTMENT_AMOUNT_INVALID.format(max=f"{MAX_ADJUSTMENT:,}"))
    return amount


def request_adjustment(*, account_id: int, amount: int, reason: str, requested_by: User) -> AdjustmentRequest:
    """Record an adjustment; apply it now unless it is above the approval threshold.

    A small adjustment that cannot be applied (insufficient balance) is not recorded at all."""
    audit.require_permission(requested_by, REQUEST_PERMISSION)
    reason = audit.require_reason(reason)[:500]
    amount = check_amount(amount)
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise errors.NotFound(errors.ACCOUNT_NOT_FOUND)
    if account.kind not in ADJUSTABLE_KINDS:
        raise errors.InvalidRequest(errors.ADJUSTMENT_ACCOUNT_INVALID)
    _refuse_own_account(account, requested_by)
    # Created (and committed) outside any transaction, so its cached id is never a rolled-back row.
    services.system_account_id(Account.Kind.ADJUSTMENTS, account.unit)
    with transaction.atomic():
        # The account row lock serializes requests on it, so two concurrent small ones are summed
        # one after the other instead of both fitting under the threshold.
        Account.objects.select_for_update().filter(pk=account.pk).values_list("pk").get()
        applied_today = applied_alone_today(account_id=account.pk, staff=requested_by)
        request = AdjustmentRequest.objects.create(
            account=account, amount=amount, reason=reason, requested_by=requested_by
        )
        audit.record(
            actor=requested_by,
            action="adjustment.request",
            target=request,
            reason=reason,
            after={
                "account": account.pk,
                "amount": amount,
                "status": request.status,
                "applied_alone_today": applied_today,
            },
        )
        if not needs_approval(amount, applied_today=applied_today):
            request.status = AdjustmentRequest.Status.APPROVED
            _post(request, applied_by=requested_by)
    return request


def _request_for_update(request_id: int) -> AdjustmentRequest:
    request = (
        AdjustmentRequest.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise errors.NotFound(errors.ADJUSTMENT_NOT_FOUND)
    return request


def approve_adjustment(*, request_id: int, staff: User, note: str = "") -> AdjustmentRequest:
    """A second staff member approves a pending adjustment, which is then applied."""
    audit.require_permission(staff, APPROVE_PERMISSION)
    with transaction.atomic():
        request = _request_for_update(request_id)
        if request.status != AdjustmentRequest.Status.PENDING:
            raise errors.WrongState(errors.ADJUSTMENT_NOT_PENDING)
        if request.requested_by_id == staff.pk:
            raise errors.NotAllowed(errors.ADJUSTMENT_SELF_APPROVAL)
        _refuse_own_account(request.account, staff)
        before = audit.snapshot(request, REQUEST_FIELDS)
        request.status = AdjustmentRequest.Status.APPROVED
        request.approved_by = staff
        request.decision_note = note.strip()[:500]
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "approved_by", "decision_note", "decided_at"])
        audit.record(
            actor=staff,
            action="adjustment.approve",
            target=request,
            reason=note.strip(),
            before=before,
            after=audit.snapshot(request, REQUEST_FIELDS),
        )
    try:
        return apply_adjustment(request_id=request_id, staff=staff)
    except errors.CoinSiteError as exc:
        # The approval stands; applying can be retried once the account allows it.
        raise type(exc)(f"Approved, but not applied yet: {exc.message}", code=exc.code) from exc


def reject_adjustment(*, request_id: int, staff: User, note: str) -> AdjustmentRequest:
    audit.require_permission(staff, APPROVE_PERMISSION)
    note = audit.require_reason(note)
    with transaction.atomic():
        request = _request_for_update(request_id)
        if request.status not in (AdjustmentRequest.Status.PENDING, AdjustmentRequest.Status.APPROVED):
            raise errors.WrongState(errors.ADJUSTMENT_NOT_OPEN)
        before = audit.snapshot(request, REQUEST_FIELDS)
        request.status = AdjustmentRequest.Status.REJECTED
        request.rejected_by = staff
        request.decision_note = note[:500]
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "rejected_by", "decision_note", "decided_at"])
        audit.record(
            actor=staff,
            action="adjustment.reject",
            target=request,
            reason=note,
            before=before,
            after=audit.snapshot(request, REQUEST_FIELDS),
        )
    return request


def apply_adjustment(*, request_id: int, staff: User) -> AdjustmentRequest:
    """Post an approved adjustment; applying an applied one returns it and moves nothing."""
    audit.require_permission(staff, APPROVE_PERMISSION)
    request = AdjustmentRequest.objects.select_related("account").filter(pk=request_id).first()
    if request is not None:
        services.system_account_id(Account.Kind.ADJUSTMENTS, request.account.unit)
    try:
        with transaction.atomic():
            request = _request_for_update(request_id)
            if request.status == AdjustmentRequest.Status.APPLIED:
                return request
            if request.status != AdjustmentRequest.Status.APPROVED:
                raise errors.WrongState(errors.ADJUSTMENT_NOT_APPROVED)
            _refuse_own_account(request.account, staff)
            _post(request, applied_by=staff)
    except errors.CoinSiteError as exc:
        AdjustmentRequest.objects.filter(pk=request_id, status=AdjustmentRequest.Status.APPROVED).update(
            last_error=exc.message[:500]
        )
        raise
    return request


def _post(request: AdjustmentRequest, *, applied_by: User) -> None:
    """Post the ledger transaction of an approved request and mark it applied (caller holds the
    request in a transaction)."""
    account = request.account
    balance_before = selectors.balance_of(account_id=account.pk)
    adjustments = services.system_account_id(Account.Kind.ADJUSTMENTS, account.unit)
    try:
        posted = services.post_transaction(
            kind=Transaction.Kind.ADJUSTMENT,
            legs=[services.Leg(account.pk, request.amount), services.Leg(adjustments, -request.amount)],
            idempotency_key=f"adjustment-{request.pk}",
            reference=f"adjustment:{request.pk}",
            memo=request.reason[:255],
            created_by=applied_by,
            # A freeze stops the owner spending; a staff correction of a frozen wallet still posts.
            allow_frozen=True,
        )
    except errors.InsufficientCoins as exc:
        raise errors.InvalidRequest(errors.ADJUSTMENT_INSUFFICIENT, code="insufficient_funds") from exc
    request.status = AdjustmentRequest.Status.APPLIED
    request.transaction_id = posted.id
    request.applied_at = timezone.now()
    request.last_error = ""
    request.save(update_fields=["status", "transaction", "applied_at", "last_error"])
    audit.record(
        actor=applied_by,
        action="adjustment.apply",
        target=account,
        reason=request.reason,
        before={"balance": balance_before, "adjustment": request.pk},
        after={"balance": selectors.balance_of(account_id=account.pk), "adjustment": request.pk},
        transaction_id=posted.id,
    )
