"""A viewer applies at /creators/apply/; staff approve or reject in admin with a reason."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from creators.models import Creator
from wallet.models import Account, User

pytestmark = pytest.mark.django_db

APPLICATION = {
    "display_name": "Chef Ana",
    "handle": "Chef-Ana",
    "category": "Food",
    "bio": "Ramen at midnight.",
}


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _admin_action(client: Client, action: str, creator: Creator, **extra: str):
    data = {"action": action, "_selected_action": [str(creator.pk)], **extra}
    return client.post("/admin/creators/creator/", data)


def test_a_viewer_applies_and_staff_reject_with_a_reason_then_approve_the_second_try(make_user, staff):
    viewer = make_user()
    applicant = _logged_in(viewer)
    assert applicant.get("/creators/apply/").status_code == 200

    response = applicant.post("/creators/apply/", APPLICATION)

    assert response.status_code == 302
    creator = Creator.objects.get(user=viewer)
    assert (creator.handle, creator.status) == ("chef-ana", Creator.Status.APPLIED)
    assert Client().get("/c/chef-ana/").status_code == 404  # not public until approved
    assert applicant.get("/studio/")["Location"] == "/creators/apply/"

    admin = _logged_in(staff)
    asks = _admin_action(admin, "reject_applications", creator)
    assert asks.status_code == 200 and b"Reason" in asks.content
    no_reason = _admin_action(admin, "reject_applications", creator, apply="1", reason="")
    assert no_reason.status_code == 200
    creator.refresh_from_db()
    assert creator.status == Creator.Status.APPLIED
    _admin_action(
        admin, "reject_applications", creator, apply="1", reason="Please add a bio about your cooking."
    )
    creator.refresh_from_db()
    assert creator.status == Creator.Status.REJECTED
    assert creator.status_reason == "Please add a bio about your cooking."
    assert creator.decided_at is not None and creator.decided_by == staff
    page = html.unescape(applicant.get("/creators/apply/").content.decode())
    assert "Please add a bio about your cooking." in page and "Apply again" in page

    applicant.post("/creators/apply/", {**APPLICATION, "bio": "I cook ramen live every night."})
    creator.refresh_from_db()
    assert creator.status == Creator.Status.APPLIED and creator.status_reason == ""
    _admin_action(admin, "approve_applications", creator, apply="1", reason="")

    creator.refresh_from_db()
    viewer.refresh_from_db()
    assert creator.status == Creator.Status.APPROVED
    assert viewer.role == User.Role.CREATOR
    assert Account.objects.filter(owner=viewer, kind=Account.Kind.CREATOR_DIAMONDS).exists()
    profile = Client().get("/c/chef-ana/")
    assert profile.status_code == 200 and b"Chef Ana" in profile.content
    assert b'data-testid="gift-total">0<' in profile.content
    assert applicant.get("/studio/").status_code == 200
    assert applicant.get("/creators/apply/")["Location"] == "/studio/"


def test_an_application_needs_a_free_valid_handle(make_user, make_creator):
    make_creator(handle="taken")
    client = _logged_in(make_user())
    for handle, message in [
        ("taken", "That handle is taken"),
        ("no spaces", "Enter a valid"),
        ("admin", "reserved"),
    ]:
        response = client.post("/creators/apply/", {**APPLICATION, "handle": handle})
        assert response.status_code == 400
        assert message in html.unescape(response.content.decode())
    assert client.post("/creators/apply/", {**APPLICATION, "category": "Nonsense"}).status_code == 400
    assert client.post("/creators/apply/", {}).status_code == 400


def test_a_pending_application_cannot_be_decided_twice(make_user, staff):
    viewer = make_user()
    _logged_in(viewer).post("/creators/apply/", APPLICATION)
    creator = Creator.objects.get(user=viewer)
    admin = _logged_in(staff)
    _admin_action(admin, "approve_applications", creator, apply="1", reason="Welcome")
    response = _admin_action(admin, "reject_applications", creator, apply="1", reason="Changed my mind")
    assert response.status_code == 302
    creator.refresh_from_db()
    assert creator.status == Creator.Status.APPROVED and creator.status_reason == "Welcome"


def test_anonymous_visitors_are_asked_to_log_in_to_apply():
    response = Client().get("/creators/apply/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
