"""The audit log is append-only at the database (a trigger refuses UPDATE and DELETE, like
wallet_entry's) and readable in admin with its before/after JSON."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from wallet import errors
from wallet.models import AuditEntry
from wallet.moderation import audit
from wallet.tests.moderation.conftest import logged_in, page_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(make_user, finance) -> AuditEntry:
    viewer = make_user(display_name="Target Viewer")
    return audit.record(
        actor=finance,
        action="wallet.freeze",
        target=viewer,
        reason="Chargeback fraud ring",
        before={"frozen": False},
        after={"frozen": True},
    )


def test_the_database_refuses_to_update_an_audit_entry(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="nothing to see here")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE wallet_auditentry SET after = '{}'::jsonb WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert (entry.reason, entry.after) == ("Chargeback fraud ring", {"frozen": True})


def test_the_database_refuses_to_delete_an_audit_entry(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM wallet_auditentry")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_staff_read_the_audit_log_in_admin_with_before_and_after(entry, moderator):
    client = logged_in(moderator)
    listing = page_text(client.get("/admin/wallet/auditentry/?q=Chargeback"))
    assert "wallet.freeze" in listing and "Target Viewer" in listing
    assert page_text(client.get(f"/admin/wallet/auditentry/?q={entry.target_id}")).count("wallet.freeze") >= 1
    detail = page_text(client.get(f"/admin/wallet/auditentry/{entry.pk}/change/"))
    assert '"frozen": false' in detail and '"frozen": true' in detail
    assert f'href="/admin/wallet/user/{entry.target_id}/change/"' in detail


def test_a_reason_is_required_for_audited_actions():
    with pytest.raises(errors.InvalidRequest, match=errors.REASON_REQUIRED):
        audit.require_reason("   ")
    assert audit.require_reason("  spam  ") == "spam"
