"""The payout screens in the admin: pages render, batches show done / failed / pending, and
staff run, approve, reject and retry only through actions that call the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from creators.models import LocalTransfer, Payout, PayoutAccount, PayoutBatch
from creators.payouts.services import accounts, driving, planning
from wallet.models import User
from wallet.selectors import diamond_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def _action(client: Client, model: str, action: str, ids: list[int], **extra: str):
    return client.post(
        f"/admin/creators/{model}/",
        {"action": action, "_selected_action": [str(i) for i in ids], **extra},
        follow=True,
    )


def test_every_payout_admin_page_renders(admin_client, payee, payout_settings):
    creator = payee(4_000)
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = ["*"]
    batch = driving.run_payout_batch(period="admin").batch
    payout = batch.payouts.get()
    for model, pk in [
        ("payoutaccount", creator.payout_account.pk),
        ("payoutbatch", batch.pk),
        ("payout", payout.pk),
        ("localtransfer", LocalTransfer.objects.get().pk),
    ]:
        assert admin_client.get(f"/admin/creators/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/creators/{model}/{pk}/change/").status_code == 200, model
        assert admin_client.get(f"/admin/creators/{model}/add/").status_code == 403, model


def test_the_batch_list_shows_progress_and_staff_retry_the_failed_ones(admin_client, payee, payout_settings):
    creators = [payee(2_000) for _ in range(3)]
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = [f"local-{creators[0].pk}"]
    batch = driving.run_payout_batch(period="progress").batch

    page = admin_client.get("/admin/creators/payoutbatch/").content.decode()
    assert "2 / 1 / 0" in page  # done / failed / pending

    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = []
    response = _action(admin_client, "payoutbatch", "retry_failed_payouts", [batch.pk])
    assert "1 payout(s) queued for a new attempt." in response.content.decode()
    driving.process_payout_batch(batch_id=batch.pk)

    assert "3 / 0 / 0" in admin_client.get("/admin/creators/payoutbatch/").content.decode()
    assert diamond_balance(user_id=creators[0].user_id) == 0
    assert Payout.objects.get(creator=creators[0]).attempt == 2


def test_the_run_button_creates_this_weeks_batch_once(
    admin_client, payee, django_capture_on_commit_callbacks
):
    payee(2_000)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = admin_client.post("/admin/creators/payoutbatch/run/", {"period": ""}, follow=True)
        second = admin_client.post("/admin/creators/payoutbatch/run/", {"period": ""}, follow=True)

    batch = PayoutBatch.objects.get()
    assert batch.period == planning.current_period()
    assert f"Batch {batch.period} created: 1 payouts" in first.content.decode()
    assert f"Batch {batch.period} already exists" in second.content.decode()
    assert len(queued) == 2  # process_payout_batch each time (a second run drives what is left)
    bad = admin_client.post("/admin/creators/payoutbatch/run/", {"period": "two words"}, follow=True)
    assert "A batch period is 1 to 40" in bad.content.decode()
    assert admin_client.get("/admin/creators/payoutbatch/run/").status_code == 405


def test_staff_approve_a_big_batch_or_reject_it_with_a_reason(admin_client, payee, payout_settings):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 500
    payee(2_000)
    big = planning.create_payout_batch(period="big").batch
    assert big.status == PayoutBatch.Status.AWAITING_APPROVAL

    form = _action(admin_client, "payoutbatch", "reject_batches", [big.pk])
    assert "Reject payout batches" in form.content.decode()
    _action(admin_client, "payoutbatch", "reject_batches", [big.pk], apply="1", reason="Duplicate run")
    big.refresh_from_db()
    assert (big.status, big.decision_reason) == (PayoutBatch.Status.REJECTED, "Duplicate run")

    other = planning.create_payout_batch(period="big-2").batch
    _action(admin_client, "payoutbatch", "approve_batches", [other.pk])
    other.refresh_from_db()
    assert other.status == PayoutBatch.Status.PROCESSING
    again = _action(admin_client, "payoutbatch", "approve_batches", [other.pk])
    assert "Only a batch waiting for approval" in again.content.decode()


def test_staff_verify_stripe_accounts(admin_client, make_creator, payout_settings):
    payout_settings.PAYOUT_PROVIDER = "stripe_connect"
    creator = make_creator()
    account = accounts.connect_payout_account(creator=creator, destination="acct_1VerifyMe99")

    asks = _action(admin_client, "payoutaccount", "verify_accounts", [account.pk])
    assert "Reason" in asks.content.decode()
    _action(admin_client, "payoutaccount", "verify_accounts", [account.pk], apply="Verify", reason="KYC done")

    account.refresh_from_db()
    assert account.status == PayoutAccount.Status.VERIFIED and account.verified_by is not None


def test_staff_without_the_approve_permission_cannot_run_or_approve(make_user, payee, payout_settings):
    clerk = make_user(is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_payoutbatch", "view_payout"]))
    clerk = User.objects.get(pk=clerk.pk)
    client = Client()
    client.force_login(clerk)
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    payee(2_000)
    batch = planning.create_payout_batch(period="locked").batch

    page = client.get("/admin/creators/payoutbatch/").content.decode()
    assert "Run payout batch now" not in page and "approve_batches" not in page
    client.post("/admin/creators/payoutbatch/run/", {"period": "sneaky"})
    _action(client, "payoutbatch", "approve_batches", [batch.pk])

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL
    assert not PayoutBatch.objects.filter(period="sneaky").exists()
