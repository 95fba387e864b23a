"""`{% live_player session %}`: the live page's video (HLS from the media server, hls.js)."""

from __future__ import annotations

from typing import Any

from django import template

from coinsite import media_server
from gifts import errors, live_video
from gifts.models import LiveSession

register = template.Library()


@register.inclusion_tag("gifts/_player.html")
def live_player(session: LiveSession) -> dict[str, Any]:
    name = session.creator.display_name
    if not session.is_live:
        state, message = "ended", errors.VIDEO_ENDED
    elif not media_server.available():
        state, message = "unavailable", errors.VIDEO_NOT_AVAILABLE
    elif live_video.publishing_key_of(session=session) is None:
        state, message = "offline", errors.VIDEO_OFFLINE.format(name=name)
    else:
        state, message = "playing", ""
    return {
        "session": session,
        "state": state,
        "message": message,
        "offline_message": errors.VIDEO_OFFLINE.format(name=name),
        "playlist_url": media_server.playlist_url(session.pk) if session.is_live else "",
    }
