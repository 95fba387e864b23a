from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from creators.models import Creator, Post
from gifts import errors as gift_errors
from gifts import selectors, services
from gifts.forms import SendGiftForm, StartLiveForm
from gifts.models import Gift, GiftSend, LiveSession
from gifts.panel import gift_panel_context
from wallet import errors
from wallet.models import User


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "live_sessions": selectors.live_sessions()[:24],
        "creators": Creator.objects.filter(status=Creator.Status.APPROVED).order_by("-created_at")[:12],
        "gifts": Gift.objects.filter(active=True)[:8],
    }
    return render(request, "gifts/home.html", context)


@require_GET
def live_list(request: HttpRequest) -> HttpResponse:
    return render(request, "gifts/live_list.html", {"live_sessions": selectors.live_sessions()[:100]})


@require_GET
def live_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(LiveSession.objects.select_related("creator", "goal_gift"), pk=session_id)
    page = reverse("live-detail", args=[session.pk])
    context = {
        "session": session,
        "feed": selectors.recent_gifts(session_id=session.pk),
        "state": selectors.session_state(session=session),
        "all_time_board": selectors.creator_board(creator_id=session.creator_id),
        "ws_path": f"/ws/live/{session.pk}/",
        # What the gift panel says once the page learns the session ended (static/js/live.js).
        "ended_note": services.SESSION_ENDED,
        **gift_panel_context(
            request,
            action=reverse("live-gift", args=[session.pk]),
            api_url=reverse("api-live-session-gifts", args=[session.pk]),
            next_url=page,
            session=session,
        ),
    }
    return render(request, "gifts/live_detail.html", context)


# ---------------------------------------------------------------- sending gifts


def _next_url(request: HttpRequest, data: QueryDict, default: str) -> str:
    candidate = data.get("next")
    if isinstance(candidate, str) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _send(
    request: HttpRequest, *, default_next: str, session: LiveSession | None = None, post: Post | None = None
) -> HttpResponse:
    """The gift panel's plain form (no script): call `send_gift`, redirect back with a message.
    The panel's script sends through the API instead (POST /api/v1/live/<id>/gifts/)."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?{urlencode({'next': default_next})}")
    sender = request.user
    assert isinstance(sender, User)
    data = request.POST
    next_url = _next_url(request, data, default_next)
    try:
        form = SendGiftForm(data)
        if not form.is_valid():
            field_messages = next(iter(form.errors.values()))
            raise errors.InvalidRequest(str(field_messages[0]))
        gift_send = services.send_gift(
            sender=sender,
            gift=form.cleaned_data["gift"],
            count=form.cleaned_data["count"],
            idempotency_key=form.cleaned_data["idempotency_key"],
            session=session,
            post=post,
        )
    except errors.CoinSiteError as error:
        messages.error(request, error.message)
        if isinstance(error, errors.InsufficientCoins):
            joiner = "&" if "?" in next_url else "?"
            return HttpResponseRedirect(f"{next_url}{joiner}need_coins=1#gift-panel")
        return HttpResponseRedirect(f"{next_url}#gift-panel")
    messages.success(request, _sent_message(gift_send))
    return HttpResponseRedirect(f"{next_url}#gift-panel")


def _sent_message(gift_send: GiftSend) -> str:
    label = f"{gift_send.gift.emoji} {gift_send.gift.name}".strip()
    return gift_errors.GIFT_SENT.format(gift=label, count=gift_send.count, coins=gift_send.coins)


@require_POST
def live_gift(request: HttpRequest, session_id: int) -> HttpResponse:
    session = LiveSession.objects.select_related("creator", "goal_gift").filter(pk=session_id).first()
    if session is None:
        raise Http404(gift_errors.NO_SUCH_SESSION)
    return _send(request, session=session, default_next=reverse("live-detail", args=[session.pk]))


@require_POST
def post_gift(request: HttpRequest, post_id: int) -> HttpResponse:
    post = Post.objects.select_related("creator").filter(pk=post_id).first()
    if post is None:
        raise Http404(gift_errors.NO_SUCH_POST)
    return _send(request, post=post, default_next=f"/posts/{post.pk}/")


# ---------------------------------------------------------------- studio


def _creator_of(user: Any) -> Creator | None:
    try:
        return user.creator
    except Creator.DoesNotExist:
        return None


@login_required
def studio_live(request: HttpRequest) -> HttpResponse:
    creator = _creator_of(request.user)
    if creator is None or not creator.is_approved:
        return render(
            request,
            "gifts/studio_live.html",
            {"creator": creator, "refused": services.NOT_A_CREATOR},
            status=403,
        )
    form = StartLiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.start_live_session(
                creator=creator,
                title=form.cleaned_data["title"],
                goal_gift=form.cleaned_data["goal_gift"],
                goal_count=form.cleaned_data["goal_count"],
            )
        except errors.CoinSiteError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, gift_errors.LIVE_STARTED)
            return redirect("live-detail", session_id=session.pk)
    current = selectors.live_session_of(creator_id=creator.pk)
    context = {
        "creator": creator,
        "form": form,
        "current": current,
        "state": selectors.session_state(session=current) if current else None,
        "recent": LiveSession.objects.filter(creator=creator).order_by("-started_at")[:10],
    }
    return render(request, "gifts/studio_live.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def studio_live_end(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(LiveSession.objects.select_related("creator"), pk=session_id)
    user = request.user
    assert isinstance(user, User)
    try:
        services.end_live_session(session=session, ended_by=user, reason=request.POST.get("reason", ""))
    except errors.NotAllowed as error:
        messages.error(request, error.message)
        return render(request, "gifts/studio_live.html", {"refused": error.message}, status=403)
    except errors.InvalidRequest as error:
        return render(request, "gifts/studio_live.html", {"refused": error.message}, status=error.status)
    except errors.WrongState as error:
        messages.info(request, error.message)
    else:
        messages.success(request, gift_errors.LIVE_ENDED)
    return redirect("studio-live")
