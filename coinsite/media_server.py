"""What the site knows about the media server (nginx with the RTMP module, started by
`python -m tools.devservices up`): its addresses from settings, and its control API.

Only this module talks to the media server. Viewers play HLS straight from it (segments are
never served by Django); the site only asks it to drop a publisher.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

APP = "live"  # the RTMP application in the generated config: rtmp://host:port/live/<key>
STREAM_NAME_PREFIX = "live-"


def available() -> bool:
    return bool(settings.MEDIA_RTMP_URL and settings.MEDIA_HLS_URL)


def unavailable_reason() -> str:
    return settings.MEDIA_UNAVAILABLE or "no media server is configured (MEDIA_RTMP_URL is not set)"


def stream_name(session_id: int) -> str:
    """The public name a live session's stream is published and played under."""
    return f"{STREAM_NAME_PREFIX}{session_id}"


def session_id_of(name: str) -> int | None:
    if name.startswith(STREAM_NAME_PREFIX) and name[len(STREAM_NAME_PREFIX) :].isdigit():
        return int(name[len(STREAM_NAME_PREFIX) :])
    return None


def playlist_url(session_id: int) -> str:
    """Where viewers' players fetch a session's HLS playlist ("" without a media server)."""
    if not available():
        return ""
    return f"{settings.MEDIA_HLS_URL.rstrip('/')}/{stream_name(session_id)}/index.m3u8"


def ingest_url() -> str:
    """The server URL OBS asks for (the stream key goes in its own field)."""
    return settings.MEDIA_RTMP_URL if available() else ""


def drop_publisher(name: str) -> bool:
    """Cut the stream published under `name` (nginx-rtmp's control API). True when a publisher
    was dropped; False when none was publishing or the media server could not be reached
    (logged: the caller's change stands either way)."""
    if not settings.MEDIA_CONTROL_URL:
        return False
    query = urllib.parse.urlencode({"app": APP, "name": name})
    url = f"{settings.MEDIA_CONTROL_URL.rstrip('/')}/drop/publisher?{query}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            dropped = response.read().strip()
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # 404 / "0": nobody was publishing under that name
            logger.warning("media server refused to drop %s: HTTP %s", name, exc.code)
        return False
    except OSError as exc:
        logger.warning("could not reach the media server to drop %s: %s", name, exc)
        return False
    return dropped not in (b"", b"0")
