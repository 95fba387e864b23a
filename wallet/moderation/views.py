"""The report endpoint viewers post to, and the staff dashboard page in admin."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from wallet import errors
from wallet.auth import signed_in_user
from wallet.earnings import chargeback_losses
from wallet.moderation import reports
from wallet.moderation.forms import ReportForm
from wallet.moderation.selectors import staff_dashboard
from wallet.money import format_money


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@require_http_methods(["GET", "POST"])
def new_report(request: HttpRequest) -> HttpResponse:
    """GET: the report form for ?target_type=&target_id=; POST: file the report and redirect
    back to `next` (or re-render the form with the error and a 4xx status). Programs report
    through the API (POST /api/v1/reports/)."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?{urlencode({'next': _safe_next(request)})}")
    next_url = _safe_next(request)
    if request.method == "GET":
        form = ReportForm(initial=request.GET.dict())
        return _form_page(request, form, next_url, status=200)
    form = ReportForm(request.POST)
    try:
        if not form.is_valid():
            field, field_errors = next(iter(form.errors.items()))
            # A target id that is no id at all is "not found", like one that names nothing.
            error_type = errors.NotFound if field == "target_id" else errors.InvalidRequest
            raise error_type(str(field_errors[0]), extra={"field": field})
        reports.file_report(
            reporter=signed_in_user(request),
            target_type=form.cleaned_data["target_type"],
            target_id=form.cleaned_data["target_id"],
            reason=form.cleaned_data["reason"],
            details=form.cleaned_data["details"],
        )
    except errors.CoinSiteError as exc:
        if exc.message not in [str(message) for messages_ in form.errors.values() for message in messages_]:
            form.add_error(None, exc.message)
        return _form_page(request, form, next_url, status=exc.status)
    messages.success(request, errors.REPORT_SENT)
    return HttpResponseRedirect(next_url)


def _form_page(request: HttpRequest, form: ReportForm, next_url: str, *, status: int) -> HttpResponse:
    return TemplateResponse(
        request, "moderation/report_form.html", {"form": form, "next_url": next_url}, status=status
    )


def staff_dashboard_view(request: HttpRequest) -> HttpResponse:
    """/admin/dashboard/ (wrapped in `admin.site.admin_view`: staff only)."""
    chargebacks = chargeback_losses()
    context = {
        **admin.site.each_context(request),
        "title": "Staff dashboard",
        "numbers": staff_dashboard(),
        "chargebacks": chargebacks,
        "chargeback_loss_cash": format_money(chargebacks.cents_lost, settings.COIN_CURRENCY),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
