from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gifts.models import Gift, GiftSend, LiveSession

pytestmark = pytest.mark.django_db


def test_staff_see_gifts_sessions_and_sends_and_cannot_edit_sends(
    admin_client: Client, viewer: Any, live_session: LiveSession, rose: Gift, gift_to: Callable[..., GiftSend]
) -> None:
    sent = gift_to(viewer, rose, 3, session=live_session)
    for url in ("/admin/gifts/gift/", "/admin/gifts/livesession/", "/admin/gifts/giftsend/"):
        assert admin_client.get(url).status_code == 200, url
    assert "Viewer One" in admin_client.get("/admin/gifts/giftsend/").content.decode()
    assert admin_client.get("/admin/gifts/giftsend/?q=" + viewer.email).status_code == 200
    assert admin_client.get(f"/admin/gifts/giftsend/{sent.pk}/change/").status_code == 200  # read-only view
    assert admin_client.post(f"/admin/gifts/giftsend/{sent.pk}/change/", {"count": 1000}).status_code == 403
    assert admin_client.get("/admin/gifts/giftsend/add/").status_code == 403
    assert admin_client.post(f"/admin/gifts/giftsend/{sent.pk}/delete/", {"post": "yes"}).status_code == 403
    assert GiftSend.objects.get().count == 3
