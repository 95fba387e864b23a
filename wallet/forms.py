from __future__ import annotations

import datetime

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from wallet.models import User


class SignupForm(forms.Form):
    """Added to allauth's sign-up form: display name and date of birth (18+ to buy or spend)."""

    display_name = forms.CharField(max_length=60, required=False, label="Display name")
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="You can browse at any age; buying and spending coins needs 18+.",
    )

    def clean_date_of_birth(self) -> datetime.date:
        dob: datetime.date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if dob > today:
            raise forms.ValidationError("Your date of birth can't be in the future.")
        if dob.year < today.year - 120:
            raise forms.ValidationError("Please enter your real date of birth.")
        return dob

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "")
        user.date_of_birth = self.cleaned_data["date_of_birth"]
        user.save(update_fields=["display_name", "date_of_birth"])
