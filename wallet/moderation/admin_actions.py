"""One reusable admin action that asks for a reason on an intermediate page, then calls a
service once per selected row and reports each outcome as an admin message.

    freeze_wallets = reason_action(
        name="freeze_wallets",
        permission="wallet.freeze_wallet",
        description="Freeze selected wallets",
        submit="Freeze",
        perform=lambda account, staff, data: ...,  # calls a service, returns the success message
    )

    class AccountAdmin(ActionAdmin):
        actions = [freeze_wallets]
        has_freeze_wallet_permission = permission_check("wallet.freeze_wallet")

Django lists (and accepts) an action only for users for whom `has_<codename>_permission`
is true (and `manage.py check` fails when that method is missing), so a crafted POST by
staff without the permission is refused ("No action selected", or 403 without even the view
permission); the action checks the permission again before doing anything. The services
write the audit rows, in the transaction of the change they describe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse

from wallet import errors
from wallet.auth import signed_in_user
from wallet.models import User
from wallet.moderation import audit
from wallet.moderation.audit import REASON_MAX_LENGTH

APPLY = "apply"
TEMPLATE = "admin/moderation/reason_form.html"

Perform = Callable[[Any, User, dict[str, Any]], str]
AdminAction = Callable[[admin.ModelAdmin, HttpRequest, QuerySet[Any]], TemplateResponse | None]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit log with your name.",
        error_messages={"required": errors.REASON_REQUIRED},
    )


class OptionalReasonForm(ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False
        self.fields["reason"].label = "Note (optional)"


class ActionAdmin(admin.ModelAdmin):
    """A ModelAdmin whose actions answer a malformed selection (ids that are no ids, as only a
    crafted POST sends) with a 400 instead of the 500 Django's own filtering raises."""

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        pk = self.model._meta.pk
        assert pk is not None
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                if pk.get_prep_value(pk.to_python(value)) is None:
                    raise ValueError(value)
        except (ValidationError, ValueError, TypeError):
            return HttpResponseBadRequest(errors.SELECTION_INVALID)
        return super().response_action(request, queryset, *args, **kwargs)


def permission_check(permission: str) -> Callable[[admin.ModelAdmin, HttpRequest], bool]:
    """A `has_<codename>_permission` method for a ModelAdmin class body."""

    def has_permission(self: admin.ModelAdmin, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(permission))

    return has_permission


def reason_action(
    *,
    name: str,
    permission: str,
    description: str,
    submit: str,
    perform: Perform,
    form_class: type[forms.Form] = ReasonForm,
    intro: str = "",
) -> AdminAction:
    """An admin action named `name`, allowed by `permission` ("app_label.codename")."""
    codename = permission.split(".", 1)[1]

    def action(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST if APPLY in request.POST else None)
        if form.is_bound and form.is_valid():
            staff = signed_in_user(request)
            for obj in queryset.order_by("pk"):
                _perform_one(modeladmin, request, obj, staff, form.cleaned_data, perform)
            return None
        objects = list(queryset.order_by("pk"))
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": description,
            "intro": intro,
            "opts": modeladmin.model._meta,
            "objects": objects,
            "form": form,
            "action_name": name,
            "submit_label": submit,
            "apply": APPLY,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, TEMPLATE, context)

    action.__name__ = name
    action.__qualname__ = name
    return admin.action(permissions=[codename], description=description)(action)


def _perform_one(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    obj: Model,
    staff: User,
    data: dict[str, Any],
    perform: Perform,
) -> None:
    try:
        message = perform(obj, staff, data)
    except errors.CoinSiteError as exc:
        modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    else:
        modeladmin.message_user(request, message, messages.SUCCESS)


class AuditedChangesAdmin(admin.ModelAdmin):
    """A ModelAdmin whose change (and add) forms write one audit entry with the before and after
    of `audited_fields` (prices, premium content, privileges) when any of them changed."""

    audited_fields: tuple[str, ...] = ()

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
        # Kept on the form until save_related, which runs after the many-to-many fields are saved.
        form._audit_before = None if stored is None else audit.audited_values(stored, self.audited_fields)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        saved = type(obj)._default_manager.get(pk=obj.pk)
        audit.record_admin_change(
            actor=signed_in_user(request),
            target=saved,
            before=getattr(form, "_audit_before", None),
            after=audit.audited_values(saved, self.audited_fields),
        )
