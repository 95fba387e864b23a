"""Forms of the moderation screens: the balance adjustment (an admin action) and the report form."""

from __future__ import annotations

from django import forms

from wallet import errors
from wallet.models import Report
from wallet.moderation.adjustments import MAX_ADJUSTMENT
from wallet.moderation.admin_actions import ReasonForm
from wallet.moderation.reports import DETAILS_MAX_LENGTH, report_target_types

_AMOUNT_INVALID = errors.ADJUSTMENT_AMOUNT_INVALID.format(max=f"{MAX_ADJUSTMENT:,}")


class AdjustmentForm(ReasonForm):
    amount = forms.IntegerField(
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text="In the account's unit (coins or diamonds): positive credits, negative debits.",
        error_messages={
            "invalid": _AMOUNT_INVALID,
            "min_value": _AMOUNT_INVALID,
            "max_value": _AMOUNT_INVALID,
        },
    )
    field_order = ["amount", "reason"]

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_AMOUNT_INVALID)
        return amount


class ReportForm(forms.Form):
    target_type = forms.ChoiceField(
        choices=report_target_types,
        widget=forms.HiddenInput,
        error_messages={
            "required": errors.REPORT_TARGET_TYPE_INVALID,
            "invalid_choice": errors.REPORT_TARGET_TYPE_INVALID,
        },
    )
    target_id = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        widget=forms.HiddenInput,
        error_messages={
            "required": errors.REPORT_TARGET_NOT_FOUND,
            "invalid": errors.REPORT_TARGET_NOT_FOUND,
            "min_value": errors.REPORT_TARGET_NOT_FOUND,
            "max_value": errors.REPORT_TARGET_NOT_FOUND,
        },
    )
    reason = forms.ChoiceField(
        label="Why are you reporting this?",
        choices=[("", "Choose a reason"), *Report.Reason.choices],
        error_messages={
            "required": errors.REPORT_REASON_INVALID,
            "invalid_choice": errors.REPORT_REASON_INVALID,
        },
    )
    details = forms.CharField(
        label="Details (optional)",
        required=False,
        max_length=DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": DETAILS_MAX_LENGTH}),
        error_messages={"max_length": errors.REPORT_DETAILS_TOO_LONG},
    )
