"""Test data (factory_boy): users, and creators made through the real onboarding, moderation and
payout services, so a creator has exactly what those services give one (an approved creator
has the creator role and a diamond account; a suspended one was approved first).

The fixtures `make_user` and `make_creator` (conftest.py) are the usual way in; the factories
are for what a fixture cannot reach (a module-level helper, a drill)."""

from __future__ import annotations

import datetime
import itertools
import os
from typing import Any

import factory
from factory.django import DjangoModelFactory

from creators import services
from creators.models import Creator
from creators.payouts.services import accounts as payout_accounts
from creators.services.moderation import suspend_creator
from wallet.models import Account, Transaction, Unit, User
from wallet.services import Leg, diamond_account_id, post_transaction, system_account_id

PASSWORD = "pw-Secret-123"
_keys = itertools.count()


def born(age: int | None) -> datetime.date | None:
    """The date of birth of someone `age` years old today (None: not given)."""
    if age is None:
        return None
    today = datetime.date.today()
    return today.replace(year=today.year - age) - datetime.timedelta(days=1)


class UserFactory(DjangoModelFactory[User]):
    """A user through `User.objects.create_user`; an adult (30) unless `age` says otherwise."""

    class Meta:
        model = User

    class Params:
        age: int | None = 30

    email = factory.Sequence(lambda n: f"user{n}-{os.getpid()}@example.com")
    password = PASSWORD
    date_of_birth = factory.LazyAttribute(lambda user: born(user.age))

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **fields: Any) -> User:
        email, password = fields.pop("email"), fields.pop("password")
        return model_class.objects.create_user(email, password, **fields)


class StaffFactory(UserFactory):
    """Staff with every permission (a superuser), e.g. the one who decides applications."""

    is_staff = True
    is_superuser = True
    role = User.Role.STAFF


def give_diamonds(creator: Creator, diamonds: int) -> None:
    """Credit diamonds the way a staff adjustment does (from diamond issuance)."""
    post_transaction(
        kind=Transaction.Kind.ADJUSTMENT,
        legs=[
            Leg(system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND), -diamonds),
            Leg(diamond_account_id(user_id=creator.user_id), diamonds),
        ],
        idempotency_key=f"test-diamonds-{creator.pk}-{next(_keys)}",
    )


def take_diamonds(creator: Creator, diamonds: int) -> None:
    """A clawback or adjustment taking diamonds back (the strict debit path)."""
    post_transaction(
        kind=Transaction.Kind.ADJUSTMENT,
        legs=[
            Leg(diamond_account_id(user_id=creator.user_id), -diamonds),
            Leg(system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND), diamonds),
        ],
        idempotency_key=f"test-take-{creator.pk}-{next(_keys)}",
    )


class CreatorFactory(DjangoModelFactory[Creator]):
    """A creator who applied (`apply_for_creator`) and then, by `status`, was approved,
    rejected or approved and suspended by `decided_by` (staff) through the services.

    `payout_account=True` connects the configured payout provider's account
    (`connect_payout_account`: a `local` one verifies itself when LOCAL_PAYOUTS_AUTO_VERIFY is
    on, as the payout tests set); `diamonds` credits that many diamonds."""

    class Meta:
        model = Creator

    user = factory.SubFactory(UserFactory)
    handle = factory.LazyAttribute(lambda creator: f"creator-{creator.user.pk}")
    display_name = factory.LazyAttribute(lambda creator: f"Creator {creator.user.pk}")
    bio = "Making things."
    category = "Art"
    status = Creator.Status.APPROVED
    # Not fields of a creator: what `_create` does after the application.
    decided_by: User | None = None
    payout_account = False
    diamonds = 0

    @classmethod
    def _create(cls, model_class: type[Creator], *args: Any, **fields: Any) -> Creator:
        status = fields.pop("status")
        decided_by = fields.pop("decided_by") or StaffFactory.create()
        payout_account, diamonds = fields.pop("payout_account"), fields.pop("diamonds")
        creator = services.apply_for_creator(**fields)
        if status == Creator.Status.REJECTED:
            return services.reject_creator(creator_id=creator.pk, decided_by=decided_by, reason="Not now.")
        if status != Creator.Status.APPLIED:
            creator = services.approve_creator(creator_id=creator.pk, decided_by=decided_by)
        if payout_account:
            payout_accounts.connect_payout_account(creator=creator)
        if diamonds:
            give_diamonds(creator, diamonds)
        if status == Creator.Status.SUSPENDED:
            creator = suspend_creator(creator_id=creator.pk, staff=decided_by, reason="Test.")
        return creator
