"""Minors and privacy: creators are 18+ (applying, staff approval, payout account set-up), a
public name never shows any part of an email, /healthz details go to staff and loopback only,
a report of a hidden object answers like a report of nothing, and audit and report rows keep
ids and public names, never emails."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from creators.models import Creator, PayoutAccount
from gifts import services as gift_services
from tests.api.conftest import World
from wallet.models import AuditEntry, Report, User
from wallet.moderation import actions
from wallet.services import open_diamond_accounts, run_ledger_check

pytestmark = pytest.mark.django_db

CREATOR_TOO_YOUNG = "You must be 18 or older to be a creator."
PUBLIC_ADDRESS = "203.0.113.9"


def _client(user: User | None, **defaults: Any) -> Client:
    client = Client(**defaults)
    if user is not None:
        client.force_login(user)
    return client


def _minor_creator(minor: User, status: str) -> Creator:
    # A profile from before the age rule (or a birth date corrected since): approved back then,
    # so it has the diamond account approval (or the provisioning migration) opened.
    creator = Creator.objects.create(
        user=minor, handle=f"young-{minor.pk}", display_name="Young One", status=status
    )
    if status == Creator.Status.APPROVED:
        open_diamond_accounts(user_ids=[minor.pk])
    return creator


def test_a_minor_cannot_apply_to_become_a_creator(world: World) -> None:
    response = _client(world.minor).post(
        "/creators/apply/", {"display_name": "Kid", "handle": "kid-maker", "category": "Art", "bio": ""}
    )
    assert response.status_code == 403
    assert CREATOR_TOO_YOUNG in response.content.decode()
    assert not Creator.objects.filter(user=world.minor).exists()


def test_staff_cannot_approve_a_minor_s_application(world: World) -> None:
    applied = _minor_creator(world.minor, Creator.Status.APPLIED)
    response = _client(world.staff).post(
        "/admin/creators/creator/",
        {
            "action": "approve_applications",
            "_selected_action": [str(applied.pk)],
            "apply": "1",
            "reason": "ok",
        },
        follow=True,
    )
    assert CREATOR_TOO_YOUNG in response.content.decode()
    applied.refresh_from_db()
    assert applied.status == Creator.Status.APPLIED
    assert User.objects.get(pk=world.minor.pk).role == User.Role.VIEWER


def test_a_minor_creator_cannot_set_up_a_payout_account(world: World) -> None:
    _minor_creator(world.minor, Creator.Status.APPROVED)
    response = _client(world.minor).post("/studio/payouts/", {"destination": f"local-young-{world.minor.pk}"})
    assert response.status_code == 403
    assert CREATOR_TOO_YOUNG in response.content.decode()
    assert not PayoutAccount.objects.filter(creator__user=world.minor).exists()


def test_a_viewer_without_a_display_name_is_shown_as_viewer_and_an_id_never_their_email(world: World) -> None:
    viewer = world.viewer
    assert viewer.display_name == ""
    local_part = viewer.email.split("@")[0]
    gift_services.send_gift(
        sender=viewer, session=world.session, gift=world.rose, count=1, idempotency_key="privacy-gift-0001"
    )
    shown = f"viewer-{viewer.pk}"
    surfaces = {
        "live page": Client().get(f"/live/{world.session.pk}/").content.decode(),
        "live API": json.dumps(APIClient().get(f"/api/v1/live/{world.session.pk}/").json()),
        "own profile": _client(viewer).get("/me/").content.decode(),
        "studio": _client(world.owner).get("/studio/").content.decode(),
    }
    for name, text in surfaces.items():
        assert local_part not in text, name
    assert (
        shown in surfaces["live page"] and shown in surfaces["live API"] and shown in surfaces["own profile"]
    )
    assert run_ledger_check().ok


def test_healthz_gives_a_bare_status_to_the_public_and_details_to_staff_and_loopback(world: World) -> None:
    public = Client(REMOTE_ADDR=PUBLIC_ADDRESS).get("/healthz")
    assert public.json() == {"ok": public.status_code == 200}
    forged = Client(REMOTE_ADDR=PUBLIC_ADDRESS).get("/healthz", headers={"X-Forwarded-For": "127.0.0.1"})
    assert set(forged.json()) == {"ok"}
    staff = _client(world.staff, REMOTE_ADDR=PUBLIC_ADDRESS).get("/healthz").json()
    loopback = Client(REMOTE_ADDR="127.0.0.1").get("/healthz").json()
    for body in (staff, loopback):
        assert {"database", "redis", "broker", "ledger_check"} <= set(body)


@pytest.mark.parametrize("target_type", ["post", "merch"])
def test_reporting_a_hidden_object_answers_like_reporting_nothing(world: World, target_type: str) -> None:
    target = world.post if target_type == "post" else world.item
    reporter = _client(world.viewer)
    page = reporter.get(
        f"/posts/{target.pk}/" if target_type == "post" else f"/merch/{target.pk}/"
    ).content.decode()
    assert f'name="target_type" value="{target_type}"' in page
    type(target).objects.filter(pk=target.pk).update(hidden=True)

    def report(target_id: int) -> tuple[int, Any]:
        response = reporter.post(
            "/api/v1/reports/",
            {"target_type": target_type, "target_id": target_id, "reason": "spam"},
            content_type="application/json",
        )
        return response.status_code, response.json()

    assert report(target.pk) == report(10**12)
    assert report(target.pk)[0] == 404
    assert not Report.objects.exists()
    type(target).objects.filter(pk=target.pk).update(hidden=False)
    assert report(target.pk)[0] == 201


def test_audit_and_report_rows_name_users_by_id_and_public_name_not_email(world: World) -> None:
    target_user = world.viewer
    filed = _client(world.owner).post(
        "/api/v1/reports/",
        {"target_type": "user", "target_id": target_user.pk, "reason": "spam"},
        content_type="application/json",
    )
    assert filed.status_code == 201
    actions.freeze_wallet(account_id=_wallet_id(target_user), staff=world.staff, reason="Card testing")
    stored_rows = [f"{r} {i}" for r, i in Report.objects.values_list("target_repr", "target_id")]
    stored_rows += [f"{r} {i}" for r, i in AuditEntry.objects.values_list("target_repr", "target_id")]
    assert len(stored_rows) == 2
    for stored in stored_rows:
        assert "@" not in stored and target_user.email not in stored, stored
    assert Report.objects.get().target_repr == f"viewer-{target_user.pk}"


def test_stored_emails_in_old_audit_and_report_rows_are_replaced_by_public_names(
    world: World, make_user: Callable[..., User]
) -> None:
    named = make_user(display_name="Nia Named")
    # Rows as they were written before: the user's email in target_repr.
    old_audit = AuditEntry.objects.create(
        action="wallet.freeze",
        target_id=str(named.pk),
        target_repr=f"Viewer coin wallet (COIN) of {named.email}",
    )
    old_report = Report.objects.create(
        reporter=world.owner,
        target_type_id=_user_content_type(),
        target_id=world.viewer.pk,
        target_repr=world.viewer.email,
        reason="spam",
    )
    migration = importlib.import_module("wallet.migrations.0011_public_names_in_audit_and_reports")
    with connection.schema_editor() as editor:
        migration.replace_stored_emails(apps, editor)
    assert AuditEntry.objects.get(pk=old_audit.pk).target_repr == (
        f"Viewer coin wallet (COIN) of Nia Named (#{named.pk})"
    )
    assert Report.objects.get(pk=old_report.pk).target_repr == f"viewer-{world.viewer.pk}"
    with pytest.raises(Exception, match="append-only"):
        AuditEntry.objects.filter(pk=old_audit.pk).update(reason="changed")


def _wallet_id(user: User) -> int:
    from wallet.selectors import wallet_of

    wallet = wallet_of(user_id=user.pk)
    assert wallet is not None
    return int(wallet.pk)


def _user_content_type() -> int:
    from django.contrib.contenttypes.models import ContentType

    return int(ContentType.objects.get_for_model(User).pk)
