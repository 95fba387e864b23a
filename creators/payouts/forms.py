"""The studio's payout account form: parse and validate; the service connects."""

from __future__ import annotations

from typing import Any

from django import forms

from creators.models import PayoutAccount
from creators.payout_providers import STRIPE_ACCOUNT_ID
from creators.payouts.errors import STRIPE_ACCOUNT_INVALID


class PayoutAccountForm(forms.Form):
    destination = forms.CharField(
        label="Stripe account id",
        max_length=80,
        required=False,
        help_text="From your Stripe Express dashboard: starts with acct_.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "acct_..."}
        ),
    )

    def __init__(self, *args: Any, provider: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        if provider == PayoutAccount.Provider.LOCAL:
            # Offline: the local provider pays `local-<creator id>`; nothing to type.
            self.fields["destination"].widget = forms.HiddenInput()
        else:
            self.fields["destination"].required = True

    def clean_destination(self) -> str:
        value = str(self.cleaned_data.get("destination") or "").strip()
        if self.provider == PayoutAccount.Provider.STRIPE_CONNECT and not STRIPE_ACCOUNT_ID.match(value):
            raise forms.ValidationError(STRIPE_ACCOUNT_INVALID)
        return value
