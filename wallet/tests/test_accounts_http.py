from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command

from wallet.models import Account, User

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"


def signup(client, **overrides):
    data = {
        "email": "new@example.com",
        "password1": "a-Long-password-42",
        "password2": "a-Long-password-42",
        "display_name": "Newbie",
        "date_of_birth": "1999-04-01",
    }
    data.update(overrides)
    return client.post(SIGNUP, data)


def test_sign_up_records_date_of_birth_and_shows_a_zero_balance(client):
    response = signup(client)

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.date_of_birth == datetime.date(1999, 4, 1)
    assert user.display_name == "Newbie" and user.role == User.Role.VIEWER
    assert user.is_adult
    page = client.get("/me/")
    assert page.status_code == 200
    assert b'data-testid="coin-balance">0<' in page.content


def test_sign_up_without_a_date_of_birth_is_a_form_error(client):
    response = signup(client, date_of_birth="")
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not User.objects.exists()


def test_a_future_date_of_birth_is_refused(client):
    response = signup(client, date_of_birth="2999-01-01")
    assert b"can&#x27;t be in the future" in response.content
    assert not User.objects.exists()


def test_minors_can_sign_up_and_browse_but_are_told_spending_needs_18(client):
    dob = datetime.date.today().replace(year=datetime.date.today().year - 15)
    signup(client, date_of_birth=dob.isoformat())
    user = User.objects.get(email="new@example.com")
    assert not user.is_adult
    assert b"needs 18+" in client.get("/me/").content


def test_log_in_and_log_out(client, make_user):
    make_user("known@example.com")
    response = client.post("/accounts/login/", {"login": "known@example.com", "password": "pw-Secret-123"})
    assert response.status_code == 302 and response["Location"] == "/me/"
    assert client.get("/me/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/me/").status_code == 302


def test_the_profile_needs_a_login(client):
    response = client.get("/me/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_password_reset_page_is_served(client, make_user, mailoutbox):
    make_user("forgot@example.com")
    assert client.get("/accounts/password/reset/").status_code == 200
    client.post("/accounts/password/reset/", {"email": "forgot@example.com"})
    assert len(mailoutbox) == 1 and "forgot@example.com" in mailoutbox[0].to


def test_healthz_reports_database_redis_broker_and_the_last_ledger_check(client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] and body["redis"]["ok"] and body["broker"]["ok"]
    assert body["ledger_check"]["ok"] is None

    call_command("check_ledger")
    body = client.get("/healthz").json()
    assert body["ledger_check"]["ok"] is True and body["ok"] is True


def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "viewer@demo.coinsite" in out and "staff@demo.coinsite" in out
    viewer = User.objects.get(email="viewer@demo.coinsite")
    wallet = Account.objects.get(owner=viewer, kind=Account.Kind.USER_COINS)
    assert wallet.balance == 5000
    # viewer, creator, superuser, and a demo member of each staff group
    assert User.objects.filter(email__endswith="@demo.coinsite").count() == 7
    moderator = User.objects.get(email="moderator@demo.coinsite")
    assert moderator.is_staff and not moderator.is_superuser
    assert moderator.has_perm("wallet.freeze_wallet") and not moderator.has_perm("wallet.refund_purchase")
    finance = User.objects.get(email="finance@demo.coinsite")
    assert finance.has_perm("wallet.adjust_balance") and not finance.has_perm("wallet.approve_adjustment")
    assert User.objects.get(email="approver@demo.coinsite").has_perm("wallet.approve_adjustment")
    assert User.objects.get(email="verifier@demo.coinsite").has_perm("creators.verify_payoutaccount")
    call_command("check_ledger")
