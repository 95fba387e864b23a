"""The context of the reusable gift panel (`templates/gifts/_gift_panel.html`), for live
pages and for posts (through the `{% post_gift_panel post %}` tag)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from creators.models import Post
from gifts import selectors
from gifts.models import LiveSession
from gifts.services import COINS_URL, MAX_COMBO, gift_refusal
from wallet.selectors import coin_balance

COMBO_CHOICES = (1, 5, 10, 99)


def gift_panel_context(
    request: HttpRequest,
    *,
    action: str,
    api_url: str,
    next_url: str,
    session: LiveSession | None = None,
    post: Post | None = None,
) -> dict[str, Any]:
    """The panel for a live session or a post (with its creator loaded); it is disabled with
    the reason `send_gift` would refuse with (`gifts.services.gift_refusal`). `action` takes the
    plain form's post (no script); the panel's script sends to `api_url` (the API's gift
    endpoint, signed in by the session cookie and the CSRF token)."""
    refusal = gift_refusal(session=session, post=post)
    user = request.user
    signed_in = bool(user.is_authenticated and user.pk is not None)
    return {
        "gift_panel_action": action,
        "gift_panel_api_url": api_url,
        "gift_panel_next": next_url,
        "gift_panel_gifts": list(selectors.active_gifts()),
        # One key per rendered form: a double-submitted plain form sends one gift (the script
        # makes its own key for every click and sends it as the Idempotency-Key header).
        "gift_panel_key": str(uuid.uuid4()),
        "gift_panel_signed_in": signed_in,
        "gift_panel_balance": coin_balance(user_id=int(user.pk)) if signed_in and user.pk else 0,
        "gift_panel_adult": bool(signed_in and getattr(user, "is_adult", False)),
        "gift_panel_disabled_reason": refusal.message if refusal is not None else "",
        "gift_panel_max_combo": MAX_COMBO,
        "gift_panel_combos": COMBO_CHOICES,
        "gift_panel_coins_url": COINS_URL,
        "gift_panel_need_coins": request.GET.get("need_coins") == "1",
    }
