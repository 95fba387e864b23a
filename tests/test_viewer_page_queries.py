"""The pages a viewer loads most (`/`, `/live/`, `/live/<id>/`, `/c/<handle>/`) read the
database a fixed number of times, however many sessions, creators, gifts and posts they show:
each count is pinned at a small world and a world ten times its size, signed out and in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from creators import services as creator_services
from gifts import services as gift_services
from gifts.catalogue import GIFT_CATALOGUE
from gifts.models import Gift, LiveSession
from tests.factories import CreatorFactory, StaffFactory

pytestmark = pytest.mark.django_db


@dataclass
class Site:
    viewer: Any
    session: LiveSession
    handle: str


def _site(make_user: Callable[..., Any], fund: Callable[..., Any], size: int) -> Site:
    staff = StaffFactory.create()
    gifts = [
        Gift.objects.create(name=f"{name} {uuid.uuid4().hex[:6]}", coins=coins, emoji=emoji, sort_order=order)
        for order, (name, coins, emoji) in enumerate(GIFT_CATALOGUE[:8])
    ]
    viewers = [make_user() for _ in range(size)]
    for viewer in viewers:
        fund(viewer, 10_000)
    sessions = []
    for n in range(size):
        creator = CreatorFactory.create(
            user=make_user(), handle=f"q{n}-{uuid.uuid4().hex[:8]}", decided_by=staff
        )
        sessions.append(
            gift_services.start_live_session(
                creator=creator, title=f"Live {n}", goal_gift=gifts[0], goal_count=100
            )
        )
    first = sessions[0].creator
    for n in range(size):  # the profile shows the first creator's posts: premium and free
        creator_services.publish_post(
            creator=first, title=f"Post {n}", teaser="A peek.", premium_body="More.", price_coins=5
        )
        creator_services.publish_post(
            creator=first, title=f"Free {n}", teaser="Free.", premium_body="", price_coins=0
        )
    for i, viewer in enumerate(viewers):
        for gift in gifts[:3]:
            gift_services.send_gift(
                sender=viewer, gift=gift, count=1, idempotency_key=f"q-{i}-{gift.pk}", session=sessions[0]
            )
    return Site(viewer=viewers[0], session=sessions[0], handle=sessions[0].creator.handle)


# Statements per page, signed out and signed in (the session, the user, the header's coin
# balance and the viewer's own creator profile add five). Savepoints are not counted.
MAX_QUERIES = {
    "home": (3, 8),
    "live list": (1, 6),
    "live session": (6, 13),
    "creator profile": (10, 15),
}


def _counts(site: Site, signed_in: bool) -> dict[str, int]:
    client = Client()
    if signed_in:
        client.force_login(site.viewer)
    pages = {
        "home": "/",
        "live list": "/live/",
        "live session": f"/live/{site.session.pk}/",
        "creator profile": f"/c/{site.handle}/",
    }
    counts = {}
    for page, path in pages.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[page] = sum("SAVEPOINT" not in q["sql"] for q in captured.captured_queries)
    return counts


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed out", "signed in"])
def test_viewer_pages_read_a_fixed_number_of_times(
    signed_in: bool, make_user: Callable[..., Any], fund: Callable[..., Any]
) -> None:
    small = _counts(_site(make_user, fund, 2), signed_in)
    big = _counts(_site(make_user, fund, 20), signed_in)
    assert small == big  # no query per session, creator, gift, gifter or post shown
    assert all(big[page] <= limits[signed_in] for page, limits in MAX_QUERIES.items()), big
