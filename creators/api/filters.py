"""Query filters of the creators API's lists (django-filter, through DjangoFilterBackend: a
value a filter refuses is a 400 `invalid` whose `extra.fields` names the parameter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django_filters.fields import ChoiceField

from creators.models import Order


class _SentChoiceField(ChoiceField):
    """A choice that may be left out but not sent blank: `?status=` is refused like any other
    value outside the documented enum."""

    def clean(self, value: Any) -> Any:
        if value == "":
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().clean(value)


class SentChoiceFilter(django_filters.ChoiceFilter):
    field_class = _SentChoiceField


class CreatorOrderFilter(django_filters.FilterSet):
    status = SentChoiceFilter(
        choices=Order.Status.choices,
        error_messages={"invalid_choice": f"must be one of {', '.join(Order.Status.values)}."},
    )

    class Meta:
        model = Order
        fields = ["status"]
