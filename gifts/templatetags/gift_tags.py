"""`{% load gift_tags %}{% post_gift_panel post %}` renders the gift panel for a post page."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from creators.models import Post
from gifts.panel import gift_panel_context

register = template.Library()


@register.inclusion_tag("gifts/_gift_panel.html", takes_context=True)
def post_gift_panel(context: template.Context, post: Post) -> dict[str, Any]:
    request = context["request"]
    panel = gift_panel_context(
        request,
        action=reverse("post-gift", args=[post.pk]),
        api_url=reverse("api-post-gifts", args=[post.pk]),
        next_url=request.get_full_path(),
        post=post,
    )
    panel.update({"request": request, "user": context.get("user"), "csrf_token": context.get("csrf_token")})
    return panel
