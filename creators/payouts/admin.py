"""Staff screens for payouts (registered from `creators/admin.py`): payout accounts to verify,
batches with their progress, approval and retries, every payout, and the local provider's
transfers. Every row is read-only; changes go through actions that call the payout services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from creators.models import LocalTransfer, Payout, PayoutAccount, PayoutBatch
from creators.payouts.services import accounts, planning, retries
from wallet.errors import CoinSiteError
from wallet.models import User
from wallet.moderation.admin_actions import ActionAdmin, permission_check, reason_action
from wallet.money import format_money

APPROVE_PERMISSION = planning.APPROVE_PERMISSION


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(APPROVE_PERMISSION))


def _set_verified(verified: bool) -> Any:
    def perform(account: PayoutAccount, staff: User, data: dict[str, Any]) -> str:
        accounts.set_payout_account_verified(
            account_id=account.pk, staff=staff, verified=verified, reason=data["reason"]
        )
        return f"{account}: {'verified' if verified else 'marked unverified'}."

    return perform


@admin.register(PayoutAccount)
class PayoutAccountAdmin(_ReadOnly, ActionAdmin):
    list_display = [
        "creator",
        "provider",
        "destination",
        "status",
        "status_reason",
        "verified_at",
        "verified_by",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["creator__handle", "creator__user__email", "destination"]
    list_select_related = ["creator", "verified_by"]
    actions = [
        reason_action(
            name="verify_accounts",
            permission=accounts.VERIFY_PERMISSION,
            description="Verify selected payout accounts",
            submit="Verify",
            perform=_set_verified(True),
            intro="Say what you checked. You cannot verify your own payout account.",
        ),
        reason_action(
            name="unverify_accounts",
            permission=accounts.VERIFY_PERMISSION,
            description="Mark selected payout accounts unverified",
            submit="Mark unverified",
            perform=_set_verified(False),
        ),
    ]

    has_verify_payoutaccount_permission = permission_check(accounts.VERIFY_PERMISSION)


class RejectBatchForm(forms.Form):
    reason = forms.CharField(max_length=255, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(PayoutBatch)
class PayoutBatchAdmin(_ReadOnly):
    change_list_template = "creators/payouts_admin_batches.html"
    list_display = [
        "period",
        "status",
        "total",
        "payouts_planned",
        "progress",
        "created_at",
        "decided_by",
        "finished_at",
    ]
    list_filter = ["status"]
    search_fields = ["period"]
    readonly_fields = [
        "period",
        "status",
        "total",
        "total_diamonds",
        "diamond_value_millicents",
        "payouts_planned",
        "progress",
        "payouts_link",
        "created_at",
        "created_by",
        "decided_at",
        "decided_by",
        "decision_reason",
        "finished_at",
    ]
    actions = ["approve_batches", "reject_batches", "retry_failed_payouts", "drive_batches"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutBatch]:
        return (
            super()
            .get_queryset(request)
            .select_related("decided_by", "created_by")
            .annotate(
                n_done=Count("payouts", filter=Q(payouts__status__in=Payout.DONE_STATUSES)),
                n_failed=Count("payouts", filter=Q(payouts__status=Payout.Status.FAILED)),
                n_pending=Count("payouts", filter=Q(payouts__status__in=Payout.OPEN_STATUSES)),
            )
        )

    @admin.display(description="Total")
    def total(self, batch: PayoutBatch) -> str:
        return format_money(batch.total_cents, batch.currency)

    @admin.display(description="Done / failed / pending")
    def progress(self, batch: PayoutBatch) -> str:
        done, failed, pending = (getattr(batch, name, None) for name in ("n_done", "n_failed", "n_pending"))
        if done is None:
            rows = batch.payouts
            done = rows.filter(status__in=Payout.DONE_STATUSES).count()
            failed = rows.filter(status=Payout.Status.FAILED).count()
            pending = rows.filter(status__in=Payout.OPEN_STATUSES).count()
        return f"{done} / {failed} / {pending}"

    @admin.display(description="Payouts")
    def payouts_link(self, batch: PayoutBatch) -> str:
        url = reverse("admin:creators_payout_changelist") + f"?batch__id__exact={batch.pk}"
        return format_html('<a href="{}">See the {} payouts of this batch</a>', url, batch.payouts_planned)

    def get_urls(self) -> list[URLPattern]:
        run = path(
            "run/",
            self.admin_site.admin_view(require_POST(self.run_batch_view)),
            name="creators_payoutbatch_run",
        )
        return [run, *super().get_urls()]

    def run_batch_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's button: create this week's (or the named period's) batch and queue it."""
        changelist = reverse("admin:creators_payoutbatch_changelist")
        if not request.user.has_perm(APPROVE_PERMISSION):
            self.message_user(request, "You may not run payout batches.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        try:
            creation = planning.create_payout_batch(
                period=request.POST.get("period", "").strip() or None, created_by=cast(User, request.user)
            )
        except CoinSiteError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(changelist)
        batch = creation.batch
        if batch.status == PayoutBatch.Status.PROCESSING:
            planning.enqueue_batch_processing(batch_id=batch.pk)
        verb = "created" if creation.created else "already exists"
        self.message_user(
            request,
            f"Batch {batch.period} {verb}: {batch.payouts_planned} payouts, "
            f"{format_money(batch.total_cents, batch.currency)} ({batch.get_status_display()}).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(changelist)

    @admin.action(description="Approve selected batches (they are then paid)", permissions=["approve"])
    def approve_batches(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        for batch in queryset:
            try:
                planning.approve_payout_batch(batch_id=batch.pk, staff=cast(User, request.user))
                self.message_user(request, f"Batch {batch.period} approved.", messages.SUCCESS)
            except CoinSiteError as exc:
                self.message_user(request, f"Batch {batch.period}: {exc.message}", messages.ERROR)

    @admin.action(description="Reject selected batches (with a reason)", permissions=["approve"])
    def reject_batches(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> HttpResponse | None:
        form = RejectBatchForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for batch in queryset:
                try:
                    planning.reject_payout_batch(
                        batch_id=batch.pk, staff=cast(User, request.user), reason=form.cleaned_data["reason"]
                    )
                    self.message_user(request, f"Batch {batch.period} rejected.", messages.SUCCESS)
                except CoinSiteError as exc:
                    self.message_user(request, f"Batch {batch.period}: {exc.message}", messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject payout batches",
            "batches": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "creators/payouts_admin_reject.html", context)

    @admin.action(description="Retry the failed payouts of selected batches", permissions=["approve"])
    def retry_failed_payouts(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        ids = Payout.objects.filter(batch__in=queryset, status=Payout.Status.FAILED).values_list(
            "pk", flat=True
        )
        _report_retry(
            self, request, retries.retry_failed_payouts(payout_ids=list(ids), staff=cast(User, request.user))
        )

    @admin.action(
        description="Drive selected batches now (after a crash or an outage)", permissions=["approve"]
    )
    def drive_batches(self, request: HttpRequest, queryset: QuerySet[PayoutBatch]) -> None:
        for batch in queryset.filter(status=PayoutBatch.Status.PROCESSING):
            planning.enqueue_batch_processing(batch_id=batch.pk)
        self.message_user(
            request, "Processing queued for the selected batches that are processing.", messages.SUCCESS
        )


def _report_retry(modeladmin: admin.ModelAdmin, request: HttpRequest, report: retries.RetryReport) -> None:
    if report.retried:
        modeladmin.message_user(
            request, f"{len(report.retried)} payout(s) queued for a new attempt.", messages.SUCCESS
        )
    for payout_id, reason in report.refused.items():
        modeladmin.message_user(request, f"Payout #{payout_id}: {reason}", messages.ERROR)
    if not report.retried and not report.refused:
        modeladmin.message_user(request, "No failed payouts to retry.", messages.INFO)


@admin.register(Payout)
class PayoutAdmin(_ReadOnly):
    list_display = [
        "id",
        "creator",
        "batch",
        "status",
        "attempt",
        "diamonds",
        "cash",
        "provider",
        "destination",
        "provider_reference",
        "finished_at",
        "last_error",
    ]
    list_filter = ["status", "provider", "batch"]
    search_fields = ["creator__handle", "creator__user__email", "destination", "provider_reference"]
    list_select_related = ["creator", "batch"]
    actions = ["retry_payouts"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Payout._meta.fields] + ["cash", "ledger_keys"]

    @admin.display(description="Cash")
    def cash(self, payout: Payout) -> str:
        return payout.amount_display

    @admin.display(description="Ledger keys of this attempt")
    def ledger_keys(self, payout: Payout) -> str:
        key = payout.provider_key
        return f"{key}-start, {key} (provider), {key}-settle | {key}-return"

    @admin.action(description="Retry selected failed payouts (a new attempt)", permissions=["approve"])
    def retry_payouts(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        _report_retry(
            self, request, retries.retry_failed_payouts(payout_ids=ids, staff=cast(User, request.user))
        )


@admin.register(LocalTransfer)
class LocalTransferAdmin(_ReadOnly):
    list_display = [
        "idempotency_key",
        "payout_id",
        "destination",
        "amount_cents",
        "currency",
        "status",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["idempotency_key", "destination"]
