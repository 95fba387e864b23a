from __future__ import annotations

from typing import Any

from django import forms

from gifts import selectors
from gifts.errors import CHOOSE_GIFT, COUNT_INVALID, COUNT_REQUIRED, GIFT_UNAVAILABLE, GOAL_INCOMPLETE
from gifts.models import MAX_COMBO, MAX_GOAL_COUNT, Gift
from wallet import idempotency


class SendGiftForm(forms.Form):
    """What the gift panel's plain form posts (its script sends to the API instead); a malformed
    idempotency key is a form error like any other field's."""

    # Any gift, retired ones too: send_gift refuses a retired gift after answering a replay of its key.
    gift = forms.ModelChoiceField(
        queryset=Gift.objects.all(),
        error_messages={"required": CHOOSE_GIFT, "invalid_choice": GIFT_UNAVAILABLE},
    )
    count = forms.IntegerField(
        min_value=1,
        max_value=MAX_COMBO,
        initial=1,
        error_messages={
            "required": COUNT_REQUIRED,
            "invalid": COUNT_INVALID,
            "min_value": COUNT_INVALID,
            "max_value": COUNT_INVALID,
        },
    )
    idempotency_key = forms.CharField(required=False)

    def clean_idempotency_key(self) -> str:
        key = self.cleaned_data.get("idempotency_key") or ""
        if not idempotency.is_valid_key(key):
            raise forms.ValidationError(idempotency.KEY_INVALID)
        return key


class StartLiveForm(forms.Form):
    title = forms.CharField(max_length=120, help_text="What viewers see in the list of who is live.")
    goal_gift = forms.ModelChoiceField(
        queryset=selectors.active_gifts(), required=False, empty_label="No goal", label="Goal gift"
    )
    goal_count = forms.IntegerField(
        min_value=1,
        max_value=MAX_GOAL_COUNT,
        required=False,
        label="Goal count",
        help_text="For example 1000 roses.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("goal_gift") is None) != (data.get("goal_count") is None) and not self.errors:
            self.add_error("goal_count", GOAL_INCOMPLETE)
        return data


class RoomRulesForm(forms.Form):
    slow_mode_seconds = forms.IntegerField(
        min_value=0,
        max_value=3600,
        initial=0,
        label="Slow mode (seconds)",
        help_text="Each viewer may send one message this often; 0 turns slow mode off. Moderators are exempt.",
    )
    links_allowed = forms.BooleanField(required=False, label="Allow links in chat")
    blocked_words = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Blocked words",
        help_text="One word or phrase a line; messages containing one are refused.",
    )
