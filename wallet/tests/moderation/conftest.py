"""Fixtures for the moderation tests: staff in the Moderator and Finance groups (made by the
data migration), logged-in clients, creators, posts, live sessions and a gift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from creators.models import Creator, Post
from gifts.models import Gift, LiveSession
from wallet.models import User
from wallet.moderation.groups import FINANCE, FINANCE_APPROVER, MODERATOR


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_action(
    client: Client, url: str, action: str, objects: list[Any], *, follow: bool = False, **data: Any
) -> Any:
    """POST an admin action (as the changelist's form does); pass apply=... to submit the reason page."""
    payload = {"action": action, "_selected_action": [str(o.pk) for o in objects], **data}
    return client.post(url, payload, follow=follow)


def adjust_balance(
    client: Client, account: Any, amount: int, reason: str = "Support goodwill", follow: bool = True
) -> Any:
    """The accounts list's "Adjust balances" action applied to one account, as staff submit it."""
    return run_action(
        client,
        "/admin/wallet/account/",
        "adjust_balances",
        [account],
        apply="Adjust",
        amount=amount,
        reason=reason,
        follow=follow,
    )


def action_names(client: Client, changelist_url: str) -> list[str]:
    """The actions a changelist offers this client's user (none at all: no action form)."""
    form = client.get(changelist_url).context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


def page_text(response: Any) -> str:
    import html

    return html.unescape(response.content.decode())


@pytest.fixture
def make_staff(make_user: Callable[..., Any]) -> Callable[..., User]:
    def make(group: str, **extra: Any) -> User:
        user = make_user(is_staff=True, role=User.Role.STAFF, **extra)
        user.groups.add(Group.objects.get(name=group))
        return User.objects.get(pk=user.pk)  # a fresh instance: no cached permissions

    return make


@pytest.fixture
def moderator(make_staff: Callable[..., User]) -> User:
    return make_staff(MODERATOR, display_name="Mo Derator")


@pytest.fixture
def finance(make_staff: Callable[..., User]) -> User:
    return make_staff(FINANCE, display_name="Fin One")


@pytest.fixture
def finance2(make_staff: Callable[..., User]) -> User:
    return make_staff(FINANCE, display_name="Fin Two")


@pytest.fixture
def creator(make_creator: Callable[..., Creator]) -> Creator:
    return make_creator()


@pytest.fixture
def post(creator: Creator) -> Post:
    return Post.objects.create(creator=creator, title="Ramen secrets", teaser="Broth first.")


@pytest.fixture
def live_session(creator: Creator) -> LiveSession:
    return LiveSession.objects.create(creator=creator, title="Late-night ramen")


@pytest.fixture
def rose(db: None) -> Gift:
    return Gift.objects.create(name="Rose", coins=1, emoji="🌹")


@pytest.fixture
def approver(make_staff: Callable[..., User]) -> User:
    return make_staff(FINANCE_APPROVER, display_name="Ap Prover")
