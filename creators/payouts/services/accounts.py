"""Payout accounts: a creator connects one with the configured provider; staff verify it."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from creators import permissions
from creators.models import Creator, PayoutAccount
from creators.payout_providers import configured_provider
from creators.payouts import errors as payout_errors
from creators.services.onboarding import require_creator_age
from wallet import errors
from wallet.models import User
from wallet.moderation import audit


def connect_payout_account(*, creator: Creator, destination: str = "") -> PayoutAccount:
    """Connect (or replace) the creator's payout account with the configured provider.

    A Stripe account waits for staff to verify it; a `local` account verifies itself when
    `LOCAL_PAYOUTS_AUTO_VERIFY` (development). Payouts already made keep their destination."""
    if creator.status != Creator.Status.APPROVED:
        raise errors.NotAllowed(payout_errors.NOT_A_CREATOR)
    require_creator_age(creator.user)
    provider = configured_provider()
    if provider.name == PayoutAccount.Provider.LOCAL and not destination.strip():
        destination = f"local-{creator.pk}"
    destination = provider.validate_destination(destination)
    auto_verify = provider.name == PayoutAccount.Provider.LOCAL and settings.LOCAL_PAYOUTS_AUTO_VERIFY
    now = timezone.now()
    try:
        with transaction.atomic():
            account = PayoutAccount.objects.select_for_update().filter(creator=creator).first()
            if account is not None and (account.provider, account.destination) == (
                provider.name,
                destination,
            ):
                return account
            if account is None:
                account = PayoutAccount(creator=creator)
            account.provider = provider.name
            account.destination = destination
            account.status = PayoutAccount.Status.VERIFIED if auto_verify else PayoutAccount.Status.UNVERIFIED
            account.status_reason = "Verified automatically (local provider)." if auto_verify else ""
            account.verified_at = now if auto_verify else None
            account.verified_by = None
            account.save()
            return account
    except IntegrityError as exc:
        raise errors.InvalidRequest(payout_errors.DESTINATION_TAKEN) from exc


VERIFY_PERMISSION = permissions.VERIFY_PAYOUT_ACCOUNT
ACCOUNT_FIELDS = ("status", "status_reason", "verified_by", "provider", "destination")


def set_payout_account_verified(
    *, account_id: int, staff: User, verified: bool, reason: str
) -> PayoutAccount:
    """Staff verify an account (or take the verification back), with a reason, audited. Needs
    its own permission (not the one that runs batches) and is never done by the account's creator."""
    if not staff.has_perm(VERIFY_PERMISSION):
        raise errors.NotAllowed(payout_errors.VERIFY_NOT_ALLOWED)
    reason = audit.require_reason(reason)
    with transaction.atomic():
        account = (
            PayoutAccount.objects.select_for_update().select_related("creator").filter(pk=account_id).first()
        )
        if account is None:
            raise errors.NotFound(payout_errors.ACCOUNT_NOT_FOUND)
        if account.creator.user_id == staff.pk:
            raise errors.NotAllowed(payout_errors.OWN_PAYOUT_ACCOUNT)
        before = audit.snapshot(account, ACCOUNT_FIELDS)
        account.status = PayoutAccount.Status.VERIFIED if verified else PayoutAccount.Status.UNVERIFIED
        account.status_reason = reason[:255]
        account.verified_at = timezone.now() if verified else None
        account.verified_by = staff if verified else None
        account.save(update_fields=["status", "status_reason", "verified_at", "verified_by", "updated_at"])
        audit.record(
            actor=staff,
            action="payoutaccount.verify" if verified else "payoutaccount.unverify",
            target=account,
            reason=reason,
            before=before,
            after=audit.snapshot(account, ACCOUNT_FIELDS),
        )
        return account
