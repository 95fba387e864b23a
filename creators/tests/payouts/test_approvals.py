"""Four eyes on payouts: whoever created or ran a batch cannot approve it, nor can a creator it
pays; verifying a payout account is an audited action of its own permission, never by that
creator."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.test import Client

from creators.models import Creator, LocalTransfer, PayoutAccount, PayoutBatch
from creators.payouts import errors as payout_errors
from creators.payouts.services import accounts, driving, planning
from wallet import errors
from wallet.models import Account, AuditEntry, User
from wallet.moderation import adjustments
from wallet.moderation.groups import FINANCE, FINANCE_APPROVER, PAYOUT_VERIFIER
from wallet.selectors import diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db

BATCHES = "/admin/creators/payoutbatch/"
ACCOUNTS = "/admin/creators/payoutaccount/"


@pytest.fixture
def staff_in(make_user: Callable[..., Any]) -> Callable[..., User]:
    def make(*groups: str, user: User | None = None) -> User:
        member = user or make_user(is_staff=True, role=User.Role.STAFF)
        if user is not None:
            User.objects.filter(pk=user.pk).update(is_staff=True)
        member.groups.add(*Group.objects.filter(name__in=groups))
        return User.objects.get(pk=member.pk)

    return make


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _action(client: Client, url: str, action: str, objects: list[Any], **extra: str) -> str:
    payload = {"action": action, "_selected_action": [str(o.pk) for o in objects], **extra}
    return html.unescape(client.post(url, payload, follow=True).content.decode())


def test_the_staff_member_who_ran_a_batch_cannot_approve_it(staff_in, payee, payout_settings):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 1_500
    creators = [payee(2_000), payee(2_000)]
    runner, other = staff_in(FINANCE_APPROVER), staff_in(FINANCE_APPROVER)
    admin = _logged_in(runner)
    admin.post(f"{BATCHES}run/", {"period": "big"}, follow=True)
    batch = PayoutBatch.objects.get(period="big")
    assert (batch.status, batch.created_by) == (PayoutBatch.Status.AWAITING_APPROVAL, runner)

    page = _action(admin, BATCHES, "approve_batches", [batch])
    driving.process_payout_batch(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL and batch.decided_by is None
    assert not LocalTransfer.objects.exists()
    assert all(diamond_balance(user_id=c.user_id) == 2_000 for c in creators)
    assert payout_errors.OWN_BATCH in page

    _action(_logged_in(other), BATCHES, "approve_batches", [batch])
    driving.process_payout_batch(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.decided_by) == (PayoutBatch.Status.FINISHED, other)
    assert all(diamond_balance(user_id=c.user_id) == 0 for c in creators)
    assert run_ledger_check().ok


def test_the_database_refuses_a_batch_approved_by_its_creator(staff_in, payee, payout_settings):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    payee(2_000)
    runner = staff_in(FINANCE_APPROVER)
    batch = planning.create_payout_batch(period="db", created_by=runner).batch
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutBatch.objects.filter(pk=batch.pk).update(
            status=PayoutBatch.Status.PROCESSING, decided_by=runner
        )


def test_a_creator_paid_by_a_batch_cannot_approve_it(staff_in, payee, payout_settings):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    paid: Creator = payee(2_000)
    insider = staff_in(FINANCE_APPROVER, user=paid.user)
    batch = planning.create_payout_batch(period="mine").batch

    refused = ""
    try:
        planning.approve_payout_batch(batch_id=batch.pk, staff=insider)
    except errors.NotAllowed as exc:
        refused = exc.message
    driving.process_payout_batch(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL
    assert diamond_balance(user_id=paid.user_id) == 2_000
    assert refused == payout_errors.OWN_PAYOUT_IN_BATCH


def test_a_creator_on_staff_cannot_verify_their_own_payout_account(staff_in, make_creator, payout_settings):
    payout_settings.LOCAL_PAYOUTS_AUTO_VERIFY = False
    creator: Creator = make_creator()
    account = accounts.connect_payout_account(creator=creator)
    insider = staff_in(PAYOUT_VERIFIER, user=creator.user)

    page = _action(_logged_in(insider), ACCOUNTS, "verify_accounts", [account], apply="Verify", reason="Mine")

    account.refresh_from_db()
    assert account.status == PayoutAccount.Status.UNVERIFIED and account.verified_by is None
    assert not AuditEntry.objects.filter(action="payoutaccount.verify").exists()
    assert payout_errors.OWN_PAYOUT_ACCOUNT in page


def test_the_staff_member_who_runs_batches_cannot_verify_payout_accounts(
    staff_in, make_creator, payout_settings
):
    payout_settings.LOCAL_PAYOUTS_AUTO_VERIFY = False
    account = accounts.connect_payout_account(creator=make_creator())
    runner = staff_in(FINANCE_APPROVER)

    _action(_logged_in(runner), ACCOUNTS, "verify_accounts", [account], apply="Verify", reason="Looks fine")

    account.refresh_from_db()
    assert account.status == PayoutAccount.Status.UNVERIFIED
    with pytest.raises(errors.NotAllowed):
        accounts.set_payout_account_verified(account_id=account.pk, staff=runner, verified=True, reason="x")
    account.refresh_from_db()
    assert account.status == PayoutAccount.Status.UNVERIFIED


def test_verifying_a_payout_account_is_audited_with_who_why_and_the_change(
    staff_in, make_creator, payout_settings
):
    payout_settings.LOCAL_PAYOUTS_AUTO_VERIFY = False
    account = accounts.connect_payout_account(creator=make_creator())
    verifier = staff_in(PAYOUT_VERIFIER)
    admin = _logged_in(verifier)

    no_reason = _action(admin, ACCOUNTS, "verify_accounts", [account], apply="Verify")
    assert errors.REASON_REQUIRED in no_reason
    _action(
        admin, ACCOUNTS, "verify_accounts", [account], apply="Verify", reason="ID and bank letter checked"
    )
    _action(admin, ACCOUNTS, "unverify_accounts", [account], apply="Mark unverified", reason="Bank closed")

    trail = list(
        AuditEntry.objects.filter(target_id=str(account.pk), action__startswith="payoutaccount.")
        .order_by("id")
        .values_list("action", "actor", "reason", "before__status", "after__status")
    )
    assert trail == [
        ("payoutaccount.verify", verifier.pk, "ID and bank letter checked", "unverified", "verified"),
        ("payoutaccount.unverify", verifier.pk, "Bank closed", "verified", "unverified"),
    ]
    account.refresh_from_db()
    assert (account.status, account.status_reason) == (PayoutAccount.Status.UNVERIFIED, "Bank closed")


def test_minting_diamonds_for_a_partner_and_cashing_them_out_takes_three_different_people(
    staff_in, make_creator, payout_settings, settings
):
    """The whole chain request -> approve -> verify -> pay, each step by the group that holds it."""
    settings.ADJUSTMENT_APPROVAL_THRESHOLD_COINS = 10_000
    payout_settings.LOCAL_PAYOUTS_AUTO_VERIFY = False
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    partner: Creator = make_creator()
    account = accounts.connect_payout_account(creator=partner)
    diamonds = Account.objects.get(owner=partner.user, kind=Account.Kind.CREATOR_DIAMONDS)
    requester, approver, verifier = staff_in(FINANCE), staff_in(FINANCE_APPROVER), staff_in(PAYOUT_VERIFIER)

    request = adjustments.request_adjustment(
        account_id=diamonds.pk, amount=50_000, reason="Contest prize", requested_by=requester
    )
    for not_theirs in (
        lambda: adjustments.approve_adjustment(request_id=request.pk, staff=requester),
        lambda: accounts.set_payout_account_verified(
            account_id=account.pk, staff=requester, verified=True, reason="x"
        ),
        lambda: accounts.set_payout_account_verified(
            account_id=account.pk, staff=approver, verified=True, reason="x"
        ),
    ):
        with pytest.raises(errors.NotAllowed):
            not_theirs()
    adjustments.approve_adjustment(request_id=request.pk, staff=approver, note="Prize confirmed")
    accounts.set_payout_account_verified(
        account_id=account.pk, staff=verifier, verified=True, reason="ID checked"
    )
    batch = planning.create_payout_batch(period="chain", created_by=approver).batch
    with pytest.raises(errors.NotAllowed, match=payout_errors.OWN_BATCH):
        planning.approve_payout_batch(batch_id=batch.pk, staff=approver)
    assert diamond_balance(user_id=partner.user_id) == 50_000

    second_approver = staff_in(FINANCE_APPROVER)
    planning.approve_payout_batch(batch_id=batch.pk, staff=second_approver, reason="Checked")
    driving.process_payout_batch(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.FINISHED
    assert LocalTransfer.objects.get().amount_cents == 25_000
    actors = dict(AuditEntry.objects.values_list("action", "actor"))
    assert actors["adjustment.request"] == requester.pk
    assert actors["adjustment.approve"] == approver.pk
    assert actors["payoutaccount.verify"] == verifier.pk
    assert actors["payoutbatch.approve"] == second_approver.pk
    assert run_ledger_check().ok


def test_an_approved_batch_is_queued_by_the_name_of_the_task_that_drives_it(
    payee, make_user, payout_settings, django_capture_on_commit_callbacks
):
    """The services name the task instead of importing it; the broker (the real Redis) gets a
    message for the task the worker registers under that name."""
    import base64
    import json

    import redis
    from celery import current_app
    from django.conf import settings

    from creators import tasks

    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 500
    payee(2_000)
    batch = planning.create_payout_batch(period="2026-W20").batch
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    before = broker.llen(queue)

    with django_capture_on_commit_callbacks(execute=True):
        planning.approve_payout_batch(
            batch_id=batch.pk, staff=make_user(is_staff=True, is_superuser=True), reason="ok"
        )

    new = [json.loads(raw) for raw in broker.lrange(queue, 0, broker.llen(queue) - before - 1)]
    sent = [
        (m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0])
        for m in new
        if json.loads(base64.b64decode(m["body"]))[0] == [batch.pk]
    ]
    assert sent == [(planning.PROCESS_BATCH_TASK, [batch.pk])]
    assert tasks.process_payout_batch.name == planning.PROCESS_BATCH_TASK in current_app.tasks
