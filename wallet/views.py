from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wallet import auth, errors, selectors
from wallet.auth import signed_in_user
from wallet.health import health_for
from wallet.money import format_money
from wallet.purchases import checkout, pricing, webhooks
from wallet.purchases import selectors as purchase_selectors
from wallet.purchases.forms import StartPurchaseForm


@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "balance": selectors.coin_balance(user_id=user.pk),
        "history": selectors.coin_history(user_id=user.pk),
        "wallet": selectors.wallet_of(user_id=user.pk),
    }
    return render(request, "wallet/me.html", context)


@login_required
@require_GET
def api_tokens(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return render(request, "wallet/tokens.html", {"tokens": auth.api_tokens(user_id=user.pk)})


@login_required
@require_POST
def revoke_api_tokens(request: HttpRequest) -> HttpResponse:
    revoked = auth.revoke_api_tokens(user_id=signed_in_user(request).pk)
    messages.success(request, errors.TOKENS_REVOKED if revoked else errors.NO_TOKENS)
    return redirect("me-tokens")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_for(request, connection)
    return JsonResponse(report, status=200 if report["ok"] else 503)


# ---------------------------------------------------------------- buying coins


def _coins_context(request: HttpRequest, form: StartPurchaseForm | None = None) -> dict[str, object]:
    low, high = pricing.custom_coins_range()
    offers = [
        {"package": package, "price": format_money(package.price_cents, package.currency)}
        for package in selectors.active_packages()
    ]
    return {
        "offers": offers,
        "token": uuid.uuid4(),
        "form": form or StartPurchaseForm(),
        "custom_min": low,
        "custom_max": high,
    }


@login_required
@require_http_methods(["GET", "POST"])
def coins(request: HttpRequest) -> HttpResponse:
    """Get coins: pick a package or a custom amount; the POST creates (or re-uses) this page's purchase."""
    if request.method == "GET":
        return render(request, "wallet/coins.html", _coins_context(request))
    form = StartPurchaseForm(request.POST)
    if not form.is_valid():
        return render(request, "wallet/coins.html", _coins_context(request, form), status=400)
    try:
        purchase = checkout.start_purchase(
            user=signed_in_user(request),
            idempotency_key=str(form.cleaned_data["token"]),
            package_id=form.cleaned_data["package"],
            custom_coins=form.cleaned_data["custom_coins"],
        )
    except errors.CoinSiteError as exc:
        form.add_error(None, exc.message)
        return render(request, "wallet/coins.html", _coins_context(request, form), status=exc.status)
    return redirect("coins-pay", purchase_id=purchase.pk)


@login_required
@require_GET
def coins_pay(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """The card page of one purchase; a closed purchase goes to its receipt instead. Its script
    (static/js/coins.js) confirms and re-fetches the purchase through the API."""
    try:
        prepared = checkout.prepare_checkout(purchase_id=purchase_id, user=signed_in_user(request))
    except errors.NotFound as exc:
        raise Http404(exc.message) from exc
    except errors.CoinSiteError as exc:
        return render(request, "wallet/coins_error.html", {"message": exc.message}, status=exc.status)
    state = prepared.state
    if state.status not in ("pending", "requires_action"):
        return redirect("coins-receipt", purchase_id=purchase_id)
    context = {
        "purchase": state.purchase,
        "state": state,
        "setup_client_secret": prepared.setup_client_secret,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    return render(request, "wallet/coins_pay.html", context)


@login_required
@require_GET
def purchase_history(request: HttpRequest) -> HttpResponse:
    context = {"purchases": purchase_selectors.purchases_of(user_id=signed_in_user(request).pk)}
    return render(request, "wallet/purchases.html", context)


@login_required
@require_GET
def purchase_receipt(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """The receipt (also the result page): an open purchase is re-fetched from Stripe first."""
    try:
        state = checkout.refresh_purchase(purchase_id=purchase_id, user=signed_in_user(request))
    except errors.NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "wallet/receipt.html", {"purchase": state.purchase, "state": state})


# ---------------------------------------------------------------- Stripe


def _error_json(exc: errors.CoinSiteError) -> JsonResponse:
    return JsonResponse({"code": exc.code, "message": exc.message, "extra": exc.extra}, status=exc.status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's deliveries: 400 without a valid signature (nothing stored), else 200 once stored."""
    signature = request.headers.get("Stripe-Signature", "")
    if not signature:
        return _error_json(errors.WebhookSignatureInvalid(errors.WEBHOOK_SIGNATURE_MISSING))
    try:
        event = webhooks.handle_delivery(payload=request.body, signature=signature)
    except errors.CoinSiteError as exc:
        return _error_json(exc)
    return JsonResponse({"id": event.stripe_event_id, "status": event.status})
