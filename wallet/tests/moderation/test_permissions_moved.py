"""The staff permissions that wallet's AuditEntry used to declare for other apps' objects now
belong to those apps' models; migrating a live database keeps every group's and user's grants
(wallet/migrations/0017)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from wallet.models import AuditEntry, User

pytestmark = pytest.mark.django_db

migration: Any = importlib.import_module("wallet.migrations.0017_moderation_permissions_to_their_apps")

MOVED = {
    "creators.review_creator",
    "creators.suspend_creator",
    "creators.hide_content",
    "creators.cancel_order",
    "creators.ship_order",
    "gifts.end_live_session",
}


def _as_before_the_move(codename: str, *, keep_new_row: bool) -> Permission:
    """The permission on AuditEntry, as 0016 left it; with or without the new row next to it."""
    if not keep_new_row:
        Permission.objects.exclude(content_type__app_label="wallet").filter(codename=codename).delete()
    return Permission.objects.create(
        content_type=ContentType.objects.get_for_model(AuditEntry), codename=codename, name=codename
    )


def _migrate() -> None:
    with connection.schema_editor() as editor:
        migration.move_to_owners(apps, editor)


@pytest.mark.parametrize("new_row_exists", [False, True], ids=["row-moves", "grants-copied"])
def test_whoever_held_the_old_permission_holds_the_new_one_after_migrating(
    make_user: Callable[..., User], new_row_exists: bool
) -> None:
    holder = make_user(is_staff=True)
    group = Group.objects.create(name="Night shift")
    member = make_user(is_staff=True)
    member.groups.add(group)
    for label in MOVED:
        old = _as_before_the_move(label.split(".")[1], keep_new_row=new_row_exists)
        holder.user_permissions.add(old)
        group.permissions.add(old)
    assert not any(User.objects.get(pk=holder.pk).has_perm(label) for label in MOVED)

    _migrate()

    for user in (holder, member):
        assert User.objects.get(pk=user.pk).has_perms(MOVED), user
    assert not Permission.objects.filter(content_type__app_label="wallet", codename__in=migration.MOVED)
    for label in MOVED:
        app_label, codename = label.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).count() == 1


def test_a_staff_member_without_the_old_permission_gains_nothing(make_user: Callable[..., User]) -> None:
    bystander = make_user(is_staff=True)
    for label in MOVED:
        _as_before_the_move(label.split(".")[1], keep_new_row=False)
    _migrate()
    assert not any(User.objects.get(pk=bystander.pk).has_perm(label) for label in MOVED)
