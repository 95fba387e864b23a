"""/studio/payouts/: the creator's payout account and every payout with its status, diamonds
and cash. Thin: parse the form, call one service, render."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from creators.models import Creator
from creators.payout_providers import configured_provider
from creators.payouts import errors as payout_errors
from creators.payouts import selectors
from creators.payouts.forms import PayoutAccountForm
from creators.payouts.services import accounts
from wallet.earnings import payable_earnings
from wallet.errors import CoinSiteError
from wallet.models import User
from wallet.services import diamond_account_id


@login_required
@require_http_methods(["GET", "POST"])
def studio_payouts(request: HttpRequest) -> HttpResponse:
    creator = Creator.objects.filter(user_id=cast(User, request.user).pk).first()
    if creator is None or not creator.is_approved:
        return redirect("creators:apply")
    provider = configured_provider().name
    form = PayoutAccountForm(request.POST if request.method == "POST" else None, provider=provider)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                connected = accounts.connect_payout_account(
                    creator=creator, destination=form.cleaned_data["destination"]
                )
            except CoinSiteError as exc:
                form.add_error("destination" if exc.status == 400 else None, exc.message)
                status = exc.status
            else:
                messages.success(
                    request,
                    payout_errors.ACCOUNT_CONNECTED
                    + ("" if connected.is_verified else payout_errors.ACCOUNT_TO_VERIFY),
                )
                return redirect("creators:studio-payouts")
        else:
            status = 400
    account = selectors.payout_account_of(creator=creator)
    earnings = payable_earnings(account_id=diamond_account_id(user_id=creator.user_id))
    diamonds = earnings.balance
    totals = selectors.payout_totals(creator=creator)
    upcoming = selectors.next_payout(creator=creator)
    context = {
        "creator": creator,
        "form": form,
        "provider": provider,
        "account": account,
        "payouts": selectors.payouts_of(creator=creator),
        "totals": totals,
        "diamonds": diamonds,
        "earnings": earnings,
        "hold_days": settings.EARNINGS_HOLD_DAYS,
        "next": upcoming,
        "currency": settings.COIN_CURRENCY,
    }
    return render(request, "creators/payouts.html", context, status=status)
