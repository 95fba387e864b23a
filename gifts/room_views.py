"""The creator's room settings in the studio (chat rules, moderators, bans, the OBS overlay URL)
and the overlay page itself. Each change is one call to `gifts.chat` or `gifts.overlay`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from creators.models import Creator
from gifts import chat, overlay, selectors
from gifts import errors as texts
from gifts.forms import RoomRulesForm
from gifts.models import RoomBan, RoomModerator
from wallet import errors
from wallet.models import User

ROOM_SAVED = "Your chat rules are saved."
OVERLAY_ISSUED = (
    "Your new overlay URL is below; the old one no longer works. Copy it now: it is shown only once."
)
MODERATOR_REMOVED = "{name} is no longer a moderator."
BAN_LIFTED = "{name} may chat again."


def _creator_of(user: object) -> Creator | None:
    try:
        return user.creator  # type: ignore[attr-defined]
    except Creator.DoesNotExist:
        return None


@login_required
def studio_room(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    creator = _creator_of(user)
    if creator is None or not creator.is_approved:
        return render(request, "gifts/studio_room.html", {"refused": texts.NOT_A_CREATOR}, status=403)
    rules = selectors.room_rules(creator_id=creator.pk)
    form = RoomRulesForm(
        request.POST if request.POST.get("do") == "rules" else None,
        initial={
            "slow_mode_seconds": rules.slow_mode_seconds,
            "links_allowed": rules.links_allowed,
            "blocked_words": rules.blocked_words,
        },
    )
    overlay_url = ""
    if request.method == "POST":
        do = request.POST.get("do")
        try:
            if do == "rules" and form.is_valid():
                chat.set_room_rules(actor=user, creator=creator, **form.cleaned_data)
                messages.success(request, ROOM_SAVED)
                return redirect("studio-room")
            if do == "overlay":
                key = overlay.issue_overlay_key(creator=creator)
                overlay_url = request.build_absolute_uri(reverse("live-overlay", args=[key]))
                messages.success(request, OVERLAY_ISSUED)
            if do == "remove-moderator":
                moderator = (
                    RoomModerator.objects.select_related("user")
                    .filter(creator=creator, pk=request.POST.get("id", "").strip() or 0)
                    .first()
                )
                if moderator is not None:
                    chat.remove_moderator(actor=user, creator=creator, user=moderator.user)
                    messages.success(request, MODERATOR_REMOVED.format(name=moderator.user.public_name))
                return redirect("studio-room")
            if do == "lift-ban":
                ban = (
                    RoomBan.objects.select_related("user")
                    .filter(creator=creator, pk=request.POST.get("id", "").strip() or 0)
                    .first()
                )
                if ban is not None:
                    chat.lift_ban(actor=user, creator=creator, user=ban.user)
                    messages.success(request, BAN_LIFTED.format(name=ban.user.public_name))
                return redirect("studio-room")
        except (errors.CoinSiteError, ValueError) as refused:
            messages.error(request, getattr(refused, "message", texts.UNKNOWN_ROOM_ACTION))
    context = {
        "creator": creator,
        "form": form,
        "overlay_url": overlay_url,
        "has_overlay": hasattr(creator, "overlay_key"),
        "moderators": RoomModerator.objects.filter(creator=creator).select_related("user").order_by("pk"),
        "bans": RoomBan.objects.filter(creator=creator).select_related("user").order_by("-created_at")[:100],
    }
    return render(request, "gifts/studio_room.html", context, status=400 if form.errors else 200)


@require_GET
@never_cache
def live_overlay(request: HttpRequest, key: str) -> HttpResponse:
    """The OBS browser source: the creator's current session's alerts, goal and top gifter."""
    creator = overlay.creator_of_overlay(key=key)
    if creator is None:
        raise Http404
    session = selectors.live_session_of(creator_id=creator.pk)
    context = {
        "creator": creator,
        "session": session,
        "state": selectors.session_state(session=session) if session else None,
        "ws_path": f"/ws/live/{session.pk}/?role=overlay" if session else "",
    }
    return render(request, "gifts/overlay.html", context)
