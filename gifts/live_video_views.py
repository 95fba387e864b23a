"""The media server's publish callbacks and the studio's stream page (/studio/stream/).

nginx-rtmp POSTs `call`, `app`, `name` (the stream key, the last part of the publish URL) and
`addr` as a form, with our shared secret in the query string. A 2xx lets a stream in, a 3xx
lets it in renamed to the Location (the public `live-<session id>`, so the key never reaches a
viewer's page), anything else refuses it.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coinsite import media_server
from creators import errors as creators_errors
from creators.models import Creator
from creators.services import stream_keys
from gifts import errors as gifts_errors
from gifts import live_video, selectors
from wallet import errors

logger = logging.getLogger(__name__)


def _from_media_server(request: HttpRequest) -> bool:
    secret = settings.MEDIA_CALLBACK_SECRET
    given = request.GET.get("secret", "")
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


def _refuse(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain")


@csrf_exempt
@require_POST
def rtmp_publish(request: HttpRequest) -> HttpResponse:
    if not _from_media_server(request):
        return _refuse(403, gifts_errors.NOT_THE_MEDIA_SERVER)
    if request.POST.get("app") != media_server.APP:
        return _refuse(403, gifts_errors.UNKNOWN_RTMP_APPLICATION)
    try:
        session = live_video.stream_published(
            key=request.POST.get("name", ""), client_id=request.POST.get("clientid", "")
        )
    except errors.CoinSiteError as error:
        logger.info("stream refused from %s: %s", request.POST.get("addr", "?"), error.message)
        return _refuse(403, error.message)
    response = HttpResponse(status=302)
    response["Location"] = media_server.stream_name(session.pk)
    return response


@csrf_exempt
@require_POST
def rtmp_publish_done(request: HttpRequest) -> HttpResponse:
    if not _from_media_server(request):
        return _refuse(403, gifts_errors.NOT_THE_MEDIA_SERVER)
    live_video.stream_stopped(name=request.POST.get("name", ""), client_id=request.POST.get("clientid", ""))
    return HttpResponse("ok", content_type="text/plain")


@login_required
@never_cache
def studio_stream(request: HttpRequest) -> HttpResponse:
    """The ingest URL, the key (shown once, after it is issued), and whether the engine says
    the creator is streaming."""
    creator = getattr(request.user, "creator", None)
    if not isinstance(creator, Creator) or not creator.is_approved:
        return render(
            request, "gifts/studio_stream.html", {"refused": creators_errors.STREAM_NOT_APPROVED}, status=403
        )
    new_key = ""
    if request.method == "POST":
        new_key = stream_keys.issue_stream_key(creator=creator)
    key = stream_keys.active_key_of(creator=creator)
    session = selectors.live_session_of(creator_id=creator.pk)
    context = {
        "creator": creator,
        "new_key": new_key,
        "has_key": key is not None,
        "publishing": key is not None and key.is_publishing,
        "publishing_since": key.publishing_since if key else None,
        "session": session,
        "ingest_url": media_server.ingest_url(),
        "media_available": media_server.available(),
        "media_unavailable": media_server.unavailable_reason(),
    }
    return render(request, "gifts/studio_stream.html", context)
