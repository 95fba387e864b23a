from __future__ import annotations

import datetime
from typing import Any

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django.utils import timezone

from wallet import errors
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
            raise forms.ValidationError(errors.BIRTH_DATE_IN_FUTURE)
        if dob.year < today.year - 120:
            raise forms.ValidationError(errors.BIRTH_DATE_NOT_REAL)
        return dob

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "")
        user.date_of_birth = self.cleaned_data["date_of_birth"]
        user.save(update_fields=["display_name", "date_of_birth"])


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's log-in form, checked through allauth like the site's log-in page and the API
    token endpoint, so failed attempts count against the same per-address limits."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            # Raises a ValidationError ("Too many failed login attempts") once the limit is hit.
            self.user_cache = get_adapter(self.request).authenticate(
                self.request, email=email, password=password
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
