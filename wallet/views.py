from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from wallet import selectors
from wallet.auth import signed_in_user
from wallet.health import service_health


@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "balance": selectors.coin_balance(user_id=user.pk),
        "history": selectors.coin_history(user_id=user.pk),
        "wallet": selectors.wallet_of(user_id=user.pk),
    }
    return render(request, "wallet/me.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = service_health(connection)
    return JsonResponse(report, status=200 if report["ok"] else 503)
