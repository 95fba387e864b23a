"""Browser forms of the creators app: parse and validate input; services do the work."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.validators import FileExtensionValidator, RegexValidator

from creators import errors as creator_errors
from creators.services.merch import MAX_ORDER_QUANTITY, MAX_STOCK
from creators.services.onboarding import HANDLE_MAX_LENGTH, check_handle
from creators.services.posts import MAX_PRICE_COINS
from wallet.errors import CoinSiteError

CATEGORIES = [
    ("", "Choose a category"),
    ("Music", "Music"),
    ("Gaming", "Gaming"),
    ("Food", "Food"),
    ("Art", "Art"),
    ("Fitness", "Fitness"),
    ("Education", "Education"),
    ("Comedy", "Comedy"),
    ("Lifestyle", "Lifestyle"),
    ("Other", "Other"),
]
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "gif", "webp"]

# The key's format is the service's to check (wallet.idempotency); the form only needs one.
_key_field_kwargs: dict[str, Any] = {
    "widget": forms.HiddenInput,
    "error_messages": {"required": "This form expired. Reload the page and try again."},
}


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class CreatorApplicationForm(forms.Form):
    display_name = forms.CharField(max_length=60, label="Display name")
    handle = forms.CharField(
        max_length=HANDLE_MAX_LENGTH,
        label="Handle",
        help_text="Your profile address: /c/<handle>/. Letters, digits, '-' and '_'.",
    )
    category = forms.ChoiceField(choices=CATEGORIES)
    bio = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=2000, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_handle(self) -> str:
        try:
            return check_handle(self.cleaned_data["handle"], user=self.user)
        except CoinSiteError as exc:
            raise forms.ValidationError(exc.message) from exc


def _check_size(upload: Any) -> Any:
    if upload and upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(
            creator_errors.FILE_TOO_LARGE.format(mb=MAX_UPLOAD_BYTES // (1024 * 1024))
        )
    return upload


class PostForm(forms.Form):
    title = forms.CharField(max_length=140)
    teaser = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
        help_text="Everyone sees this.",
    )
    premium_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=50_000,
        required=False,
        label="Premium text",
        help_text="Only viewers who unlock the post see this.",
    )
    premium_file = forms.FileField(
        required=False, label="Premium image or file", help_text="Up to 25 MB; never publicly linked."
    )
    price_coins = forms.IntegerField(
        min_value=0,
        max_value=MAX_PRICE_COINS,
        initial=0,
        label="Price (coins)",
        help_text="0 makes the post free.",
    )

    def clean_premium_file(self) -> Any:
        return _check_size(self.cleaned_data.get("premium_file"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("price_coins")
            and not data.get("premium_body", "").strip()
            and not data.get("premium_file")
        ):
            raise forms.ValidationError(creator_errors.PRICED_POST_NEEDS_TEXT)
        return data


class UnlockForm(forms.Form):
    idempotency_key = forms.CharField(**_key_field_kwargs)


def _image_field() -> forms.ImageField:
    return forms.ImageField(
        required=False,
        validators=[FileExtensionValidator(IMAGE_EXTENSIONS)],
        help_text="JPEG, PNG, GIF or WebP, up to 25 MB.",
    )


class MerchItemForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, required=False)
    price_coins = forms.IntegerField(min_value=1, max_value=MAX_PRICE_COINS, label="Price (coins)")
    stock = forms.IntegerField(min_value=0, max_value=MAX_STOCK, initial=0)
    image = _image_field()

    def clean_image(self) -> Any:
        return _check_size(self.cleaned_data.get("image"))


class MerchEditForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, required=False)
    price_coins = forms.IntegerField(min_value=1, max_value=MAX_PRICE_COINS, label="Price (coins)")
    hidden = forms.BooleanField(required=False, label="Hidden from viewers")
    add_stock = forms.IntegerField(
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        initial=0,
        label="Add to stock",
        help_text="Added to the stock there is now (negative removes).",
    )
    image = _image_field()

    def clean_image(self) -> Any:
        return _check_size(self.cleaned_data.get("image"))


class OrderForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_ORDER_QUANTITY, initial=1)
    ship_name = forms.CharField(
        max_length=120, label="Full name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    ship_line1 = forms.CharField(
        max_length=200,
        label="Address line 1",
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    ship_line2 = forms.CharField(
        max_length=200,
        label="Address line 2",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    ship_city = forms.CharField(
        max_length=100, label="City", widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    ship_region = forms.CharField(
        max_length=100,
        label="State or region",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level1"}),
    )
    ship_postcode = forms.CharField(
        max_length=20, label="Postal code", widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    ship_country = forms.CharField(
        min_length=2,
        max_length=2,
        label="Country (two letters)",
        validators=[RegexValidator(r"^[A-Za-z]{2}$", creator_errors.COUNTRY_CODE_INVALID)],
        widget=forms.TextInput(attrs={"autocomplete": "country"}),
    )
    expected_price = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    idempotency_key = forms.CharField(**_key_field_kwargs)
