"""Unlocking a premium post charges once, however often and however concurrently it is asked."""

from __future__ import annotations

import pytest

from creators import errors as creator_errors
from creators.models import Unlock
from creators.services import unlock_post
from tests.concurrency import run_concurrently
from wallet import errors
from wallet.models import Transaction
from wallet.selectors import coin_balance, diamond_balance
from wallet.services import run_ledger_check

pytestmark = pytest.mark.django_db(transaction=True)


def test_unlocking_twice_charges_once(make_user, fund, make_creator, make_post):
    creator = make_creator()
    post = make_post(creator, price=120)
    viewer = make_user()
    fund(viewer, 500)

    first = unlock_post(user=viewer, post_id=post.pk, idempotency_key="unlock-key-1")
    same_key = unlock_post(user=viewer, post_id=post.pk, idempotency_key="unlock-key-1")
    new_key = unlock_post(user=viewer, post_id=post.pk, idempotency_key="unlock-key-2")

    assert first.charged and not same_key.charged and not new_key.charged
    assert new_key.message == creator_errors.ALREADY_UNLOCKED
    assert first.unlock.pk == same_key.unlock.pk == new_key.unlock.pk
    assert coin_balance(user_id=viewer.pk) == 380
    assert diamond_balance(user_id=creator.user_id) == 60
    assert Transaction.objects.filter(kind=Transaction.Kind.UNLOCK).count() == 1
    assert first.unlock.transaction.kind == Transaction.Kind.UNLOCK
    assert run_ledger_check().ok


def test_concurrent_unlocks_with_different_keys_charge_once(make_user, fund, make_creator, make_post):
    post = make_post(make_creator(), price=100)
    viewer = make_user()
    fund(viewer, 1000)
    results: list[object] = run_concurrently(
        6, lambda i: unlock_post(user=viewer, post_id=post.pk, idempotency_key=f"tab-{i}-unlock")
    )

    assert len(results) == 6
    assert sum(r.charged for r in results) == 1  # type: ignore[attr-defined]
    assert coin_balance(user_id=viewer.pk) == 900
    assert Unlock.objects.filter(user=viewer, post=post).count() == 1
    assert run_ledger_check().ok


def test_what_cannot_be_unlocked_is_refused_without_charging(make_user, fund, make_creator, make_post):
    creator = make_creator()
    viewer = make_user()
    fund(viewer, 50)
    priced = make_post(creator, price=100)
    free = make_post(creator, price=0)

    with pytest.raises(errors.InsufficientCoins):
        unlock_post(user=viewer, post_id=priced.pk, idempotency_key="unlock-key-3")
    with pytest.raises(errors.InvalidRequest, match=creator_errors.FREE_POST):
        unlock_post(user=viewer, post_id=free.pk, idempotency_key="unlock-key-4")
    with pytest.raises(errors.InvalidRequest, match=creator_errors.OWN_POST):
        unlock_post(user=creator.user, post_id=priced.pk, idempotency_key="unlock-key-5")
    with pytest.raises(errors.AgeRestricted):
        unlock_post(user=make_user(age=17), post_id=priced.pk, idempotency_key="unlock-key-6")
    with pytest.raises(errors.NotFound):
        unlock_post(user=viewer, post_id=priced.pk + 1000, idempotency_key="unlock-key-7")
    assert coin_balance(user_id=viewer.pk) == 50
    assert not Unlock.objects.exists()


def test_a_key_used_for_one_post_cannot_unlock_another(make_user, fund, make_creator, make_post):
    creator = make_creator()
    first, second = make_post(creator, price=10), make_post(creator, price=10)
    viewer = make_user()
    fund(viewer, 100)
    unlock_post(user=viewer, post_id=first.pk, idempotency_key="unlock-key-8")
    with pytest.raises(errors.IdempotencyConflict):
        unlock_post(user=viewer, post_id=second.pk, idempotency_key="unlock-key-8")
    assert coin_balance(user_id=viewer.pk) == 90
