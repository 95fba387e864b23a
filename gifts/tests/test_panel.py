"""The gift panel is disabled with exactly the refusal `send_gift` gives for the same live
session or post: one rule (`gifts.services.gift_refusal`), shown on the page and enforced."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.template import RequestContext, Template
from django.test import Client, RequestFactory
from django.utils.html import escape

from creators.models import Creator, Post
from gifts import services
from gifts.models import Gift, LiveSession
from wallet import errors

pytestmark = pytest.mark.django_db


def _refusal(viewer: Any, gift: Gift, **target: Any) -> str:
    with pytest.raises(errors.CoinSiteError) as refused:
        services.send_gift(sender=viewer, gift=gift, count=1, idempotency_key=uuid.uuid4().hex, **target)
    return refused.value.message


def _post_panel(viewer: Any, post: Post) -> str:
    request = RequestFactory().get(f"/posts/{post.pk}/")
    request.user = viewer
    return Template("{% load gift_tags %}{% post_gift_panel post %}").render(
        RequestContext(request, {"post": post})
    )


def _live_page(viewer: Any, session: LiveSession) -> str:
    client = Client()
    client.force_login(viewer)
    return client.get(f"/live/{session.pk}/").content.decode()


@pytest.mark.parametrize("change", ["hidden", "suspended"])
def test_a_post_panel_shows_the_refusal_send_gift_gives(viewer: Any, post: Post, rose: Gift, change: str):
    if change == "hidden":
        Post.objects.filter(pk=post.pk).update(hidden=True)
    else:
        Creator.objects.filter(pk=post.creator_id).update(status=Creator.Status.SUSPENDED)
    post = Post.objects.select_related("creator").get(pk=post.pk)

    message = _refusal(viewer, rose, post=post)
    panel = _post_panel(viewer, post)

    assert message in (services.POST_UNAVAILABLE, services.CREATOR_CANNOT_RECEIVE)
    assert f'data-testid="gift-panel-disabled">{escape(message)}<' in panel
    assert "data-gift-form" not in panel


@pytest.mark.parametrize("change", ["ended", "suspended"])
def test_a_live_page_panel_shows_the_refusal_send_gift_gives(
    viewer: Any, live_session: LiveSession, rose: Gift, change: str
):
    if change == "ended":
        services.end_live_session(session=live_session, ended_by=live_session.creator.user)
    else:
        Creator.objects.filter(pk=live_session.creator_id).update(status=Creator.Status.SUSPENDED)
    session = LiveSession.objects.select_related("creator").get(pk=live_session.pk)

    message = _refusal(viewer, rose, session=session)
    page = _live_page(viewer, session)

    assert message in (services.SESSION_ENDED, services.CREATOR_CANNOT_RECEIVE)
    assert f'data-testid="gift-panel-disabled">{escape(message)}<' in page
    # The note the live script shows when it learns the session ended is the same message.
    assert f'data-ended-note="{escape(services.SESSION_ENDED)}"' in page


def test_an_open_target_has_no_refusal(viewer: Any, post: Post, live_session: LiveSession):
    assert 'data-testid="gift-panel-disabled"' not in _post_panel(viewer, post)
    assert 'data-testid="gift-panel-disabled"' not in _live_page(viewer, live_session)
    assert services.gift_refusal(post=post) is None and services.gift_refusal(session=live_session) is None
