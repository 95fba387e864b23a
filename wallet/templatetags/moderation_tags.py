"""`{% report_button "post" post.pk owner_id=post.creator.user_id %}`: the Report form partial."""

from __future__ import annotations

from typing import Any

from django import template

from wallet.moderation.forms import ReportForm

register = template.Library()


@register.inclusion_tag("moderation/_report_button.html", takes_context=True)
def report_button(
    context: template.Context, target_type: str, target_id: int, owner_id: int | None = None
) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    return {
        "csrf_token": context.get("csrf_token"),
        "signed_in": signed_in,
        # Nobody reports their own content; the service refuses it too.
        "own": signed_in and owner_id is not None and user is not None and user.pk == owner_id,
        "form": ReportForm(initial={"target_type": target_type, "target_id": target_id}),
        "field_id": f"report-{target_type}-{target_id}",
        "next_url": request.get_full_path() if request is not None else "/",
    }
