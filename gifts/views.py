from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from creators.models import Creator
from gifts.models import Gift, LiveSession


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "live_sessions": LiveSession.objects.filter(status=LiveSession.Status.LIVE).select_related("creator")[:24],
        "creators": Creator.objects.filter(status=Creator.Status.APPROVED).order_by("-created_at")[:12],
        "gifts": Gift.objects.filter(active=True)[:8],
    }
    return render(request, "gifts/home.html", context)
