"""Log-in and API tokens: the staff log-in has the site's failed-log-in limits, a new password
(changed, reset, or set by staff) ends every API token, a user sees and revokes their tokens on
/me/tokens/ and in the API, and a forged X-Forwarded-For does not dodge the anonymous throttle."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from wallet.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"
NEW_PASSWORD = "a-Brand-new-passw0rd-77"


def _token(user: User) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def _wallet_status(token: str) -> int:
    return APIClient().get("/api/v1/wallet/", headers={"Authorization": f"Token {token}"}).status_code


def test_failed_logins_at_the_staff_log_in_are_refused_after_the_limit(
    settings: Any, make_user: Callable[..., User]
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip,3/300s/key"}
    staff = make_user(is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(3):
        wrong = client.post(
            "/admin/login/", {"username": staff.email, "password": "guess", "next": "/admin/"}
        )
        assert wrong.status_code == 200
    right = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert right.status_code == 200
    assert "Too many failed login attempts" in right.content.decode()
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_staff_log_in_still_lets_staff_in(make_user: Callable[..., User]) -> None:
    staff = make_user(is_staff=True)
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_changing_the_password_on_the_page_ends_the_api_tokens(make_user: Callable[..., User]) -> None:
    user = make_user()
    token = _token(user)
    assert _wallet_status(token) == 200
    client = Client()
    client.force_login(user)
    changed = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert _wallet_status(token) == 401


def test_resetting_the_password_by_email_ends_the_api_tokens(
    make_user: Callable[..., User], mailoutbox: list[Any]
) -> None:
    user = make_user()
    token = _token(user)
    client = Client()
    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[0].body)
    assert link is not None, mailoutbox[0].body
    form_url = client.get(link.group(1))["Location"]
    done = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert _wallet_status(token) == 401


@pytest.mark.parametrize("usable", ["true", "false"])
def test_staff_setting_or_disabling_a_password_in_admin_ends_the_api_tokens(
    make_user: Callable[..., User], usable: str
) -> None:
    user = make_user()
    token = _token(user)
    staff = Client()
    staff.force_login(make_user(is_staff=True, is_superuser=True))
    # The admin's two submit buttons: set a new password, or "unset-password" to disable it.
    passwords = (
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        if usable == "true"
        else {"unset-password": "1"}
    )
    response = staff.post(f"/admin/wallet/user/{user.pk}/password/", {**passwords, "usable_password": usable})
    assert response.status_code == 302 and response["Location"] == f"/admin/wallet/user/{user.pk}/change/"
    assert User.objects.get(pk=user.pk).has_usable_password() == (usable == "true")
    assert _wallet_status(token) == 401


def test_a_user_sees_and_revokes_their_token_on_the_profile(make_user: Callable[..., User]) -> None:
    user = make_user()
    token = _token(user)
    client = Client()
    client.force_login(user)
    page = client.get("/me/tokens/").content.decode()
    assert f"…{token[-4:]}" in page and token not in page
    revoked = client.post("/me/tokens/revoke/")
    assert revoked.status_code == 302 and revoked["Location"] == "/me/tokens/"
    assert _wallet_status(token) == 401
    assert "You have no API tokens." in client.get("/me/tokens/").content.decode()


def test_a_user_lists_and_revokes_their_tokens_in_the_api(make_user: Callable[..., User]) -> None:
    user = make_user()
    token = _token(user)
    api = APIClient(headers={"Authorization": f"Token {token}"})
    listed = api.get("/api/v1/auth/token/").json()
    assert [t["ends_with"] for t in listed["tokens"]] == [token[-4:]]
    assert token not in str(listed)
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert _wallet_status(token) == 401


def test_a_forged_forwarded_for_header_does_not_dodge_the_anonymous_throttle(
    settings: Any, make_user: Callable[..., User]
) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "auth_token": "3/min"}
    settings.REST_FRAMEWORK = rest
    user = make_user()
    # A client address of its own: the fixed-window counters outlive a test.
    client = APIClient(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}")
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"email": user.email, "password": PASSWORD},
            format="json",
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
