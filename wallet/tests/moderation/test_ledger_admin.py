"""The ledger and the audit trail are read-only in admin: add, change and delete are refused by
URL (GET and POST), and there is no bulk delete, even for a superuser."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models

from wallet.models import (
    Account,
    AccountDelta,
    AdjustmentRequest,
    AuditEntry,
    Entry,
    Report,
    Transaction,
)
from wallet.moderation import adjustments, audit, reports
from wallet.tests.moderation.conftest import action_names, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger_rows(make_user, fund, finance, post) -> dict[str, models.Model]:
    viewer = make_user()
    posted = fund(viewer, 100)  # a viewer credit and a deferred (delta) debit of coin issuance
    request = adjustments.request_adjustment(
        account_id=Account.objects.get(owner=viewer).pk, amount=5, reason="Goodwill", requested_by=finance
    )
    report = reports.file_report(reporter=viewer, target_type="post", target_id=post.pk, reason="spam")
    return {
        "transaction": Transaction.objects.get(pk=posted.id),
        "entry": Entry.objects.filter(transaction_id=posted.id)[0],
        "account": Account.objects.get(owner=viewer),
        "accountdelta": AccountDelta.objects.all()[0],
        "auditentry": audit.record(actor=finance, action="test.note", target=viewer, reason="why"),
        "adjustmentrequest": request,
        "report": report,
    }


READ_ONLY = ["transaction", "entry", "account", "accountdelta", "auditentry", "adjustmentrequest", "report"]


def _snapshot(row: models.Model) -> dict[str, Any]:
    fresh = type(row)._default_manager.get(pk=row.pk)
    return {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}


@pytest.mark.parametrize("model", READ_ONLY)
def test_read_only_rows_refuse_add_change_and_delete_by_url(model, ledger_rows, make_user):
    superuser = make_user(is_staff=True, is_superuser=True)
    client = logged_in(superuser)
    row = ledger_rows[model]
    base = f"/admin/wallet/{model}/"
    before = _snapshot(row)

    assert client.get(base).status_code == 200
    assert client.get(f"{base}{row.pk}/change/").status_code == 200  # viewable
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}add/", {"amount": 1}).status_code == 403
    assert client.post(f"{base}{row.pk}/change/", {"amount": 999, "balance": 999}).status_code == 403
    assert client.get(f"{base}{row.pk}/delete/").status_code == 403
    assert client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403

    assert _snapshot(row) == before


@pytest.mark.parametrize("model", READ_ONLY)
def test_read_only_rows_have_no_bulk_delete_and_a_crafted_one_deletes_nothing(model, ledger_rows, make_user):
    client = logged_in(make_user(is_staff=True, is_superuser=True))
    row = ledger_rows[model]
    base = f"/admin/wallet/{model}/"
    count = type(row)._default_manager.count()

    assert "delete_selected" not in action_names(client, base)

    response = client.post(
        base, {"action": "delete_selected", "_selected_action": [str(row.pk)], "post": "yes"}, follow=True
    )
    assert response.status_code == 200  # the list again ("No action selected." where it has actions)
    assert type(row)._default_manager.count() == count
    assert type(row)._default_manager.filter(pk=row.pk).exists()


def test_the_moderation_rows_are_the_ones_listed_above():
    # Every moderation model is covered by the read-only checks.
    for model in (AuditEntry, AdjustmentRequest, Report):
        assert model._meta.model_name in READ_ONLY
