"""Admin change forms: replaying a webhook event needs the change permission; a live session's
creator cannot be re-pointed (read-only in admin, refused by the database); and changes of
prices, premium content, date of birth, superuser status and group membership are audit entries
with who, what, before and after."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, transaction
from django.test import Client

from creators.models import Creator, MerchItem, Post
from gifts.models import Gift, LiveSession
from wallet.models import AuditEntry, CoinPackage, User, WebhookEvent
from wallet.moderation.groups import MODERATOR
from wallet.tests.moderation.conftest import logged_in, run_action

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(make_user: Any) -> User:
    return make_user(is_staff=True, is_superuser=True, role=User.Role.STAFF, display_name="Root")


def _form_data(client: Client, url: str) -> dict[str, Any]:
    """What the change form at `url` would post unchanged (every field, as the browser sends it)."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        bound, widget = form[name], getattr(field.widget, "widget", field.widget)
        value = bound.value()
        if isinstance(widget, forms.MultiWidget):
            for i, part in enumerate(widget.decompress(value) or []):
                data[f"{bound.html_name}_{i}"] = widget.widgets[i].format_value(part) or ""
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(widget, forms.FileInput):
            continue
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = "" if value is None else widget.format_value(value) or ""
    return data


def _change(client: Client, url: str, **changes: Any) -> Any:
    data = _form_data(client, url)
    data.update(changes)
    return client.post(url, data, follow=True)


def test_replaying_a_webhook_event_in_admin_needs_the_change_permission_not_just_view(make_user):
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_replay_view_only",
        type="customer.created",
        payload={"id": "evt_replay_view_only", "type": "customer.created", "data": {"object": {}}},
        status=WebhookEvent.Status.FAILED,
        last_error="boom",
        attempts=1,
    )
    viewer = make_user(is_staff=True, role=User.Role.STAFF)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    viewer = User.objects.get(pk=viewer.pk)

    response = run_action(
        logged_in(viewer), "/admin/wallet/webhookevent/", "replay", [event], apply="Replay", reason="retry"
    )

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (WebhookEvent.Status.FAILED, 1, "boom")
    assert not AuditEntry.objects.filter(action="webhook_event.replay").exists()
    assert response.status_code in (200, 302, 403)


def test_a_live_sessions_creator_cannot_be_repointed_in_admin_nor_in_the_database(
    superuser, live_session, make_creator
):
    other: Creator = make_creator()
    url = f"/admin/gifts/livesession/{live_session.pk}/change/"

    _change(logged_in(superuser), url, creator=str(other.pk), title="Renamed by staff")

    live_session.refresh_from_db()
    assert live_session.creator_id != other.pk
    assert live_session.title == "Renamed by staff"
    with pytest.raises(DatabaseError), transaction.atomic():
        LiveSession.objects.filter(pk=live_session.pk).update(creator=other)
    live_session.refresh_from_db()
    assert live_session.creator_id != other.pk


def _entry(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def test_price_changes_of_gifts_coin_packages_posts_and_merch_in_admin_are_audited(superuser, creator):
    admin = logged_in(superuser)
    gift = Gift.objects.create(name="Rocket", coins=500)
    package = CoinPackage.objects.create(name="Starter", coins=100, price_cents=99)
    post = Post.objects.create(creator=creator, title="Broth", premium_body="Secret", price_coins=30)
    item = MerchItem.objects.create(creator=creator, name="Bowl", price_coins=40, stock=3)

    _change(admin, f"/admin/gifts/gift/{gift.pk}/change/", coins="5")
    _change(admin, f"/admin/wallet/coinpackage/{package.pk}/change/", price_cents="1")
    _change(admin, f"/admin/creators/post/{post.pk}/change/", price_coins="1")
    _change(admin, f"/admin/creators/merchitem/{item.pk}/change/", price_coins="2", description="Glazed.")

    gift_entry = _entry("gift.change")
    assert (gift_entry.actor, gift_entry.target_id) == (superuser, str(gift.pk))
    assert (gift_entry.before, gift_entry.after) == ({"coins": 500}, {"coins": 5})
    assert (_entry("coinpackage.change").before, _entry("coinpackage.change").after) == (
        {"price_cents": 99},
        {"price_cents": 1},
    )
    assert (_entry("post.change").before, _entry("post.change").after) == (
        {"price_coins": 30},
        {"price_coins": 1},
    )
    # Only the audited fields are recorded: the description is no price.
    assert (_entry("merchitem.change").before, _entry("merchitem.change").after) == (
        {"price_coins": 40},
        {"price_coins": 2},
    )


def test_a_premium_content_change_in_admin_is_audited_and_an_unchanged_save_is_not(superuser, creator):
    admin = logged_in(superuser)
    post = Post.objects.create(creator=creator, title="Broth", premium_body="Slow simmer", price_coins=30)
    url = f"/admin/creators/post/{post.pk}/change/"

    _change(admin, url)
    assert not AuditEntry.objects.exists()
    _change(admin, url, premium_body="Now with miso")

    entry = _entry("post.change")
    assert (entry.before, entry.after) == ({"premium_body": "Slow simmer"}, {"premium_body": "Now with miso"})


def test_date_of_birth_superuser_and_group_changes_of_a_user_in_admin_are_audited(superuser, make_user):
    admin = logged_in(superuser)
    member = make_user(is_staff=True, display_name="Member", age=30)
    born = member.date_of_birth
    moderators = Group.objects.get(name=MODERATOR)

    _change(
        admin,
        f"/admin/wallet/user/{member.pk}/change/",
        date_of_birth="2012-01-01",
        is_superuser="on",
        groups=[str(moderators.pk)],
    )

    member.refresh_from_db()
    assert member.is_superuser and member.date_of_birth == datetime.date(2012, 1, 1)
    entry = _entry("user.change")
    assert (entry.actor, entry.target_id) == (superuser, str(member.pk))
    assert entry.before == {"date_of_birth": born.isoformat(), "is_superuser": False, "groups": []}
    assert entry.after == {"date_of_birth": "2012-01-01", "is_superuser": True, "groups": [MODERATOR]}


def test_a_groups_permission_change_in_admin_is_audited(superuser):
    group = Group.objects.create(name="Support")
    permission = Permission.objects.get(codename="view_report")

    _change(logged_in(superuser), f"/admin/auth/group/{group.pk}/change/", permissions=[str(permission.pk)])

    entry = _entry("group.change")
    assert (entry.before, entry.after) == ({"permissions": []}, {"permissions": ["wallet.view_report"]})
