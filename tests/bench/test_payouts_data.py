"""The payout benchmark's bulk loader (bench/payouts_data.py) makes eligible creators whose
ledger is clean and whom a payout batch pays."""

from __future__ import annotations

import pytest

from bench.payouts_data import make_eligible_creators
from creators.models import Payout
from creators.payouts.services import driving

# The payout tests' settings (local provider, known rates, no earnings hold), autouse.
from creators.tests.payouts.conftest import payout_settings  # noqa: F401
from wallet.selectors import diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db


def test_the_bulk_loader_makes_n_eligible_creators_with_a_clean_ledger():
    made = make_eligible_creators(25, diamonds=[2_000 + i for i in range(25)])

    assert run_ledger_check().ok
    assert [diamond_balance(user_id=c.user_id) for c in made.creators[:3]] == [2_000, 2_001, 2_002]
    run = driving.run_payout_batch(period="bench-small")
    assert run.batch.payouts_planned == 25
    assert Payout.objects.filter(batch=run.batch, status=Payout.Status.PAID).count() == 25
    assert sum(diamond_balance(user_id=c.user_id) for c in made.creators) == sum(
        i % 2 for i in range(2_000, 2_025)
    )
    assert run_ledger_check().ok
