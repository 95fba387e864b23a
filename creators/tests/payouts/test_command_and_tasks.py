"""`manage.py run_payout_batch` and the Celery task functions."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from creators import tasks
from creators.models import LocalTransfer, PayoutBatch
from creators.payouts.services import planning
from wallet.selectors import diamond_balance

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("run_payout_batch", *args, stdout=out)
    return out.getvalue()


def test_the_command_runs_a_batch_and_running_it_again_pays_nobody_twice(payee):
    creators = [payee(2_000), payee(5_001)]

    first = _run("--period", "cmd-1")
    second = _run("--period", "cmd-1")

    assert "Batch cmd-1" in first and "2 payouts, 3500 cents for 7000 diamonds; done 2, failed 0" in first
    assert "done 2" in second
    assert LocalTransfer.objects.count() == 2
    assert [diamond_balance(user_id=c.user_id) for c in creators] == [0, 1]


def test_the_command_says_when_a_batch_waits_for_approval(payee, payout_settings):
    payout_settings.PAYOUT_APPROVAL_THRESHOLD_CENTS = 0
    payee(2_000)
    assert "approve it in the admin" in _run("--period", "cmd-2")
    with pytest.raises(CommandError, match="A batch period"):
        _run("--period", "no good")


def test_the_command_drives_open_batches(payee):
    payee(2_000)
    batch = planning.create_payout_batch(period="cmd-3").batch
    assert "Drove 1 open batch(es)." in _run("--drive-open")
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.FINISHED


def test_the_weekly_task_and_the_drive_task_call_the_services(payee):
    payee(2_000)
    result = tasks.run_payout_batch(period="task-week")
    assert result["created"] is True and result["paid"] == 1
    assert tasks.run_payout_batch(period="task-week")["created"] is False
    assert tasks.drive_payout_batches() == 0
    assert tasks.process_payout_batch(PayoutBatch.objects.get().pk)["claimed"] == 0
