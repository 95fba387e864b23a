"""`{% live_player session %}`: the live page's video (HLS from the media server, hls.js)."""

from __future__ import annotations

from typing import Any

from django import template

from coinsite import media_server
from gifts import live_video
from gifts.models import LiveSession

register = template.Library()

NOT_AVAILABLE = "Live video is not available on this server."
ENDED = "This live session has ended."
OFFLINE = "{name} is live, but the video hasn't started yet. It plays here as soon as they stream."


@register.inclusion_tag("gifts/_player.html")
def live_player(session: LiveSession) -> dict[str, Any]:
    name = session.creator.display_name
    if not session.is_live:
        state, message = "ended", ENDED
    elif not media_server.available():
        state, message = "unavailable", NOT_AVAILABLE
    elif live_video.publishing_key_of(session=session) is None:
        state, message = "offline", OFFLINE.format(name=name)
    else:
        state, message = "playing", ""
    return {
        "session": session,
        "state": state,
        "message": message,
        "offline_message": OFFLINE.format(name=name),
        "playlist_url": media_server.playlist_url(session.pk) if session.is_live else "",
    }
