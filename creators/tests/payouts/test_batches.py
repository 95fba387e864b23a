"""Payout batches through the services: who is in a batch, exact cents, the ledger keys of
each step, failures returned once, approval, retries, and recovery after a crash at each step."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from creators.models import Creator, LocalTransfer, Payout, PayoutBatch
from creators.payout_providers import LocalProvider, PayoutProviderError
from creators.payouts import errors as payout_errors
from creators.payouts.selectors import batch_progress
from creators.payouts.services import accounts, driving, planning, retries
from creators.tests.payouts.conftest import keys_of
from tests.factories import give_diamonds, take_diamonds
from wallet import errors
from wallet.models import Account, Unit
from wallet.selectors import balance_of, diamond_balance
from wallet.services import run_ledger_check, set_frozen, system_account_id

pytestmark = pytest.mark.django_db


def _system_balance(kind: str) -> int:
    return balance_of(account_id=system_account_id(kind, Unit.DIAMOND))


def test_a_batch_takes_exactly_the_eligible_creators(payee, make_creator, staff):
    eligible = payee(2_000)
    payee(1_999)  # worth 9.99: below the minimum
    unverified = payee(5_000)
    accounts.set_payout_account_verified(
        account_id=unverified.payout_account.pk, staff=staff, verified=False, reason="Bank closed"
    )
    suspended = payee(5_000)
    Creator.objects.filter(pk=suspended.pk).update(status=Creator.Status.SUSPENDED)
    frozen = payee(5_000)
    set_frozen(
        account=Account.objects.get(owner_id=frozen.user_id, kind=Account.Kind.CREATOR_DIAMONDS),
        frozen=True,
        reason="test",
    )
    no_account = make_creator()
    give_diamonds(no_account, 5_000)

    batch = planning.create_payout_batch(period="2026-W01").batch

    assert [p.creator_id for p in batch.payouts.all()] == [eligible.pk]
    assert (batch.payouts_planned, batch.total_cents, batch.total_diamonds) == (1, 1000, 2000)
    assert batch.status == PayoutBatch.Status.PROCESSING


@pytest.mark.parametrize(
    ("rate", "balance", "cents", "diamonds"),
    [
        (500, 2_001, 1_000, 2_000),
        (500, 123_457, 61_728, 123_456),
        (300, 3_335, 1_000, 3_334),
        (1_500, 667, 1_000, 667),
    ],
)
def test_a_payout_moves_exactly_the_diamonds_covering_its_whole_cents(
    payee, payout_settings, rate, balance, cents, diamonds
):
    payout_settings.DIAMOND_VALUE_MILLICENTS = rate
    creator = payee(balance)

    batch = driving.run_payout_batch(period="exact").batch

    payout = batch.payouts.get()
    assert (payout.amount_cents, payout.diamonds, payout.status) == (cents, diamonds, Payout.Status.PAID)
    assert payout.diamonds * rate // 1000 == payout.amount_cents
    assert diamond_balance(user_id=creator.user_id) == balance - diamonds
    # What stays behind is worth less than one cent.
    assert (balance - diamonds) * rate // 1000 == 0
    assert LocalTransfer.objects.get(idempotency_key=f"payout-{payout.pk}").amount_cents == cents


def test_the_database_refuses_a_payout_whose_cents_are_not_its_diamonds_worth(payee):
    payee(2_001)
    payout = planning.create_payout_batch(period="checked").batch.payouts.get()
    assert (payout.diamonds, payout.amount_cents) == (2_000, 1_000)

    with pytest.raises(IntegrityError, match="payout_cents_match_diamonds"), transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(diamonds=2_002)
    # 2,001 diamonds are still worth 1,000 cents (rounded down): allowed.
    assert Payout.objects.filter(pk=payout.pk).update(diamonds=2_001) == 1


def test_a_paid_payout_posts_start_and_settle_and_the_provider_gets_key_payout_id(payee):
    creator = payee(10_000)

    run = driving.run_payout_batch(period="keys")

    payout = run.batch.payouts.get()
    assert payout.status == Payout.Status.PAID
    assert keys_of(payout) == {f"payout-{payout.pk}-start", f"payout-{payout.pk}-settle"}
    transfer = LocalTransfer.objects.get(payout_id=payout.pk)
    assert (transfer.idempotency_key, transfer.status, transfer.destination) == (
        f"payout-{payout.pk}",
        LocalTransfer.Status.PAID,
        f"local-{creator.pk}",
    )
    assert payout.provider_reference == transfer.reference
    assert _system_balance(Account.Kind.PAYOUTS_IN_FLIGHT) == 0
    assert _system_balance(Account.Kind.PAID_OUT) == 10_000
    assert run.batch.status == PayoutBatch.Status.FINISHED
    assert run_ledger_check().ok


def test_a_refused_transfer_returns_the_diamonds_once(payee, payout_settings):
    creator = payee(4_000)
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = [f"local-{creator.pk}"]

    batch = driving.run_payout_batch(period="refused").batch
    driving.process_payout_batch(batch_id=batch.pk)
    driving.drive_open_batches()

    payout = batch.payouts.get()
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_code == "local_refused"
    assert keys_of(payout) == {f"payout-{payout.pk}-start", f"payout-{payout.pk}-return"}
    assert diamond_balance(user_id=creator.user_id) == 4_000
    assert _system_balance(Account.Kind.PAYOUTS_IN_FLIGHT) == 0
    assert batch_progress(batch=batch).failed == 1
    assert run_ledger_check().ok


def test_the_same_period_gives_the_same_batch_and_pays_nobody_twice(payee):
    creators = [payee(3_000) for _ in range(3)]

    first = driving.run_payout_batch(period="2026-W02")
    give_diamonds(creators[0], 10_000)
    second = driving.run_payout_batch(period="2026-W02")

    assert (first.created, second.created) == (True, False)
    assert second.batch.pk == first.batch.pk
    assert LocalTransfer.objects.count() == 3
    assert diamond_balance(user_id=creators[0].user_id) == 10_000


def test_a_creator_with_a_payout_in_another_open_batch_is_left_out(payee, payout_settings):
    payee(3_000)
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    waiting = planning.create_payout_batch(period="waiting").batch
    assert waiting.status == PayoutBatch.Status.AWAITING_APPROVAL

    later = planning.create_payout_batch(period="later").batch

    assert later.payouts_planned == 0
    assert later.status == PayoutBatch.Status.FINISHED


def test_a_batch_above_the_threshold_waits_for_approval_then_pays(
    payee, payout_settings, staff, django_capture_on_commit_callbacks
):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 1_500
    creators = [payee(2_000), payee(2_000)]

    run = driving.run_payout_batch(period="big")
    assert run.batch.status == PayoutBatch.Status.AWAITING_APPROVAL
    assert run.report is None
    driving.process_payout_batch(batch_id=run.batch.pk)
    assert not LocalTransfer.objects.exists()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        planning.approve_payout_batch(batch_id=run.batch.pk, staff=staff)
    assert len(queued) == 1  # process_payout_batch, once committed
    driving.process_payout_batch(batch_id=run.batch.pk)

    run.batch.refresh_from_db()
    assert (run.batch.status, run.batch.decided_by) == (PayoutBatch.Status.FINISHED, staff)
    assert all(diamond_balance(user_id=c.user_id) == 0 for c in creators)
    with pytest.raises(errors.WrongState):
        planning.approve_payout_batch(batch_id=run.batch.pk, staff=staff)


def test_a_rejected_batch_moves_nothing(payee, payout_settings, staff):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    creator = payee(2_000)
    batch = planning.create_payout_batch(period="no").batch

    with pytest.raises(errors.InvalidRequest):
        planning.reject_payout_batch(batch_id=batch.pk, staff=staff, reason=" ")
    planning.reject_payout_batch(batch_id=batch.pk, staff=staff, reason="Looks wrong")
    driving.process_payout_batch(batch_id=batch.pk)

    assert batch.payouts.get().status == Payout.Status.CANCELLED
    assert diamond_balance(user_id=creator.user_id) == 2_000
    # The creator has no open payout any more, so the next batch takes them.
    assert planning.create_payout_batch(period="next").batch.payouts_planned == 1


def test_a_payout_whose_balance_was_clawed_back_is_skipped_and_moves_nothing(payee):
    creator = payee(2_500)
    batch = planning.create_payout_batch(period="clawed").batch
    take_diamonds(creator, 600)

    report = driving.process_payout_batch(batch_id=batch.pk)

    payout = batch.payouts.get()
    assert (report.skipped, payout.status) == (1, Payout.Status.SKIPPED)
    assert payout.failure_message == payout_errors.SKIP_INSUFFICIENT
    assert keys_of(payout) == set()
    assert diamond_balance(user_id=creator.user_id) == 1_900


def test_a_creator_suspended_before_their_payout_starts_is_skipped(payee):
    creator = payee(2_000)
    batch = planning.create_payout_batch(period="suspended").batch
    Creator.objects.filter(pk=creator.pk).update(status=Creator.Status.SUSPENDED)

    driving.process_payout_batch(batch_id=batch.pk)

    assert batch.payouts.get().status == Payout.Status.SKIPPED
    assert diamond_balance(user_id=creator.user_id) == 2_000


def test_a_staff_retry_is_a_new_attempt_with_new_keys_and_pays_once(payee, payout_settings, staff):
    creator = payee(3_001)
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = ["*"]
    batch = driving.run_payout_batch(period="retry").batch
    payout = batch.payouts.get()
    assert payout.status == Payout.Status.FAILED

    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = []
    report = retries.retry_failed_payouts(payout_ids=[payout.pk], staff=staff)
    assert report.retried == [payout.pk]
    again = retries.retry_failed_payouts(payout_ids=[payout.pk], staff=staff)
    assert again.refused == {payout.pk: payout_errors.NOT_FAILED.format(status="Pending")}
    driving.process_payout_batch(batch_id=batch.pk)
    driving.process_payout_batch(batch_id=batch.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.attempt) == (Payout.Status.PAID, 2)
    assert keys_of(payout) == {
        f"payout-{payout.pk}-start",
        f"payout-{payout.pk}-return",
        f"payout-{payout.pk}-a2-start",
        f"payout-{payout.pk}-a2-settle",
    }
    transfers = dict(
        LocalTransfer.objects.filter(payout_id=payout.pk).values_list("idempotency_key", "status")
    )
    assert transfers == {f"payout-{payout.pk}": "failed", f"payout-{payout.pk}-a2": "paid"}
    assert diamond_balance(user_id=creator.user_id) == 1
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.FINISHED
    assert run_ledger_check().ok


def test_a_retry_is_refused_while_the_creator_has_another_open_payout(payee, payout_settings, staff):
    creator = payee(3_000)
    payout_settings.LOCAL_PAYOUT_FAIL_DESTINATIONS = ["*"]
    failed = driving.run_payout_batch(period="first").batch.payouts.get()
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    planning.create_payout_batch(period="second")  # waits for approval: the creator's payout is open

    report = retries.retry_failed_payouts(payout_ids=[failed.pk], staff=staff)

    assert report.refused == {failed.pk: payout_errors.OTHER_PAYOUT_OPEN}
    assert diamond_balance(user_id=creator.user_id) == 3_000


def _claim(batch: PayoutBatch) -> driving.Claim:
    claimed = driving._claim_next(batch.pk)
    assert claimed is not None and claimed.claim is not None
    return claimed.claim


def _lease_runs_out(payout_id: int) -> None:
    Payout.objects.filter(pk=payout_id).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))


def test_a_crash_after_the_diamonds_moved_is_driven_again_with_the_same_key(payee):
    creator = payee(2_000)
    batch = planning.create_payout_batch(period="crash-1").batch
    claim = _claim(batch)  # start posted, then the worker died before asking the provider

    assert driving.process_payout_batch(batch_id=batch.pk).claimed == 0  # still leased
    _lease_runs_out(claim.payout_id)
    report = driving.process_payout_batch(batch_id=batch.pk)

    payout = Payout.objects.get(pk=claim.payout_id)
    assert (report.paid, payout.status, payout.provider_calls) == (1, Payout.Status.PAID, 2)
    assert LocalTransfer.objects.filter(payout_id=payout.pk).count() == 1
    assert diamond_balance(user_id=creator.user_id) == 0


def test_a_crash_after_the_provider_paid_settles_without_paying_again(payee):
    payee(2_000)
    batch = planning.create_payout_batch(period="crash-2").batch
    claim = _claim(batch)
    LocalProvider().transfer(
        payout_id=claim.payout_id,
        destination=claim.destination,
        amount_cents=claim.amount_cents,
        currency=claim.currency,
        idempotency_key=claim.key,
    )  # the money moved, then the worker died before settling

    _lease_runs_out(claim.payout_id)
    driving.process_payout_batch(batch_id=batch.pk)

    payout = Payout.objects.get(pk=claim.payout_id)
    assert payout.status == Payout.Status.PAID
    assert LocalTransfer.objects.filter(payout_id=payout.pk).count() == 1
    assert keys_of(payout) == {f"payout-{payout.pk}-start", f"payout-{payout.pk}-settle"}


def test_a_late_worker_finishing_a_payout_another_one_settled_changes_nothing(payee):
    payee(2_000)
    batch = planning.create_payout_batch(period="late").batch
    claim = _claim(batch)
    _lease_runs_out(claim.payout_id)
    driving.process_payout_batch(batch_id=batch.pk)  # a second worker finishes it

    assert driving.drive_claimed(claim) == "already_done"  # the first worker wakes up

    assert LocalTransfer.objects.count() == 1
    assert run_ledger_check().ok


def test_the_local_provider_answers_a_repeated_key_the_same_and_refuses_other_content():
    provider = LocalProvider()
    first = provider.transfer(
        payout_id=1, destination="local-1", amount_cents=500, currency="usd", idempotency_key="payout-1"
    )
    again = provider.transfer(
        payout_id=1, destination="local-1", amount_cents=500, currency="usd", idempotency_key="payout-1"
    )
    assert first == again and first.ok
    assert provider.find_transfer(idempotency_key="payout-1") == first
    assert provider.find_transfer(idempotency_key="payout-2") is None
    with pytest.raises(PayoutProviderError):
        provider.transfer(
            payout_id=1, destination="local-1", amount_cents=501, currency="usd", idempotency_key="payout-1"
        )
    assert LocalTransfer.objects.count() == 1


class TestDatabaseRules:
    def _payout(self, payee) -> Payout:
        payee(3_000)
        return planning.create_payout_batch(period="rules").batch.payouts.get()

    def test_one_payout_per_creator_per_batch(self, payee):
        payout = self._payout(payee)
        payout.status = Payout.Status.PAID
        payout.save()
        with pytest.raises(IntegrityError), transaction.atomic():
            Payout.objects.create(
                **{f.attname: getattr(payout, f.attname) for f in Payout._meta.fields if f.attname != "id"}
            )

    def test_one_open_payout_per_creator(self, payee):
        payout = self._payout(payee)
        other = PayoutBatch.objects.create(period="other", currency="usd", diamond_value_millicents=500)
        fields = {f.attname: getattr(payout, f.attname) for f in Payout._meta.fields if f.attname != "id"}
        with pytest.raises(IntegrityError), transaction.atomic():
            Payout.objects.create(**{**fields, "batch_id": other.pk})
        Payout.objects.create(**{**fields, "batch_id": other.pk, "status": Payout.Status.CANCELLED})

    def test_cents_must_match_the_diamonds_at_the_rate(self, payee):
        payout = self._payout(payee)
        with pytest.raises(IntegrityError), transaction.atomic():
            Payout.objects.filter(pk=payout.pk).update(amount_cents=payout.amount_cents + 1)

    def test_one_idempotency_key_per_local_transfer(self):
        LocalTransfer.objects.create(
            idempotency_key="payout-9",
            payout_id=9,
            destination="local-9",
            amount_cents=1,
            currency="usd",
            status="paid",
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            LocalTransfer.objects.create(
                idempotency_key="payout-9",
                payout_id=9,
                destination="local-9",
                amount_cents=1,
                currency="usd",
                status="paid",
            )

    def test_a_period_names_one_batch(self):
        PayoutBatch.objects.create(period="p", currency="usd", diamond_value_millicents=500)
        with pytest.raises(IntegrityError), transaction.atomic():
            PayoutBatch.objects.create(period="p", currency="usd", diamond_value_millicents=500)


def test_a_bad_period_is_a_clear_error():
    with pytest.raises(errors.InvalidRequest) as raised:
        planning.create_payout_batch(period="no spaces please")
    assert raised.value.message == payout_errors.PERIOD_INVALID


def test_the_weekly_period_is_the_iso_week():
    assert planning.current_period(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)) == "2026-W01"
    assert planning.current_period(datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)) == "2026-W48"
