"""Forms of the "Get coins" page and the staff refund action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from wallet import errors


class StartPurchaseForm(forms.Form):
    """A package button or a custom amount, with the page-load token that makes it idempotent."""

    token = forms.UUIDField(widget=forms.HiddenInput)
    package = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    custom_coins = forms.IntegerField(
        required=False,
        label="Custom amount of coins",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        low, high = settings.CUSTOM_COINS_MIN, settings.CUSTOM_COINS_MAX
        field = self.fields["custom_coins"]
        field.widget.attrs.update({"min": low, "max": high, "step": 1})
        field.help_text = f"From {low:,} to {high:,} coins, priced at our package rates."
        field.error_messages["invalid"] = errors.CUSTOM_COINS_OUT_OF_RANGE.format(min=low, max=high)

    def clean_custom_coins(self) -> int | None:
        coins: int | None = self.cleaned_data.get("custom_coins")
        low, high = settings.CUSTOM_COINS_MIN, settings.CUSTOM_COINS_MAX
        if coins is not None and not low <= coins <= high:
            raise forms.ValidationError(errors.CUSTOM_COINS_OUT_OF_RANGE.format(min=low, max=high))
        return coins

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("package") is None and cleaned.get("custom_coins") is None and not self.errors:
            raise forms.ValidationError(errors.CHOOSE_PACKAGE_OR_AMOUNT)
        return cleaned


class RefundReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Stored with the refund and shown in the audit trail.",
        error_messages={"required": errors.REFUND_REASON_REQUIRED},
    )
