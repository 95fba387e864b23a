from __future__ import annotations

from typing import Any

from django import forms

from gifts import selectors
from gifts.models import Gift
from gifts.services import GOAL_INCOMPLETE, MAX_COMBO, MAX_GOAL_COUNT
from wallet import idempotency


class SendGiftForm(forms.Form):
    """What the gift panel posts (as a form or as JSON). The idempotency key may come in the
    `Idempotency-Key` header instead (`header_key`, which wins); a malformed key is a form error
    like any other field's."""

    # Any gift, retired ones too: send_gift refuses a retired gift after answering a replay of its key.
    gift = forms.ModelChoiceField(
        queryset=Gift.objects.all(),
        error_messages={"required": "Choose a gift.", "invalid_choice": "That gift is not available."},
    )
    count = forms.IntegerField(
        min_value=1,
        max_value=MAX_COMBO,
        initial=1,
        error_messages={
            "required": "Enter a combo count.",
            "invalid": f"The combo count must be a whole number from 1 to {MAX_COMBO:,}.",
            "min_value": f"The combo count must be a whole number from 1 to {MAX_COMBO:,}.",
            "max_value": f"The combo count must be a whole number from 1 to {MAX_COMBO:,}.",
        },
    )
    idempotency_key = forms.CharField(required=False)

    def __init__(self, *args: Any, header_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_key = header_key

    def clean_idempotency_key(self) -> str:
        key = self.header_key or self.cleaned_data.get("idempotency_key") or ""
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
