"""/posts/<id>/file/ serves the premium file only to who may see it; nothing under MEDIA_ROOT has a URL.

Anonymous visitors are redirected to log in (302); logged-in viewers without an unlock and
other creators get 403; a hidden post is 404 to everyone but its creator and staff."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from creators.models import Post
from creators.services import unlock_post

pytestmark = pytest.mark.django_db

SECRET = os.urandom(4096)


@pytest.fixture
def premium(make_user, fund, make_creator, make_post, staff):
    owner = make_creator()
    post = make_post(
        owner,
        price=50,
        premium_file=SimpleUploadedFile("bonus-track.pdf", SECRET, content_type="application/pdf"),
    )
    unlocked = make_user()
    fund(unlocked, 100)
    unlock_post(user=unlocked, post_id=post.pk, idempotency_key="matrix-unlock")
    return {
        "post": post,
        "viewer without unlock": make_user(),
        "viewer with unlock": unlocked,
        "other creator": make_creator().user,
        "owning creator": owner.user,
        "staff": staff,
    }


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("viewer without unlock", 403),
        ("viewer with unlock", 200),
        ("other creator", 403),
        ("owning creator", 200),
        ("staff", 200),
    ],
)
def test_only_the_unlocker_the_owner_and_staff_get_the_bytes(premium, who, status):
    post: Post = premium["post"]
    response = _client(premium[who]).get(f"/posts/{post.pk}/file/")
    assert response.status_code == status
    if status == 200:
        assert _bytes(response) == SECRET
        assert response["Content-Type"] == "application/pdf"
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
    else:
        assert SECRET not in response.content


def test_an_anonymous_visitor_is_sent_to_log_in(premium):
    post = premium["post"]
    response = Client().get(f"/posts/{post.pk}/file/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/posts/{post.pk}/file/"


def test_the_file_lives_under_media_root_with_a_random_name_and_has_no_url(premium, media_root):
    post = premium["post"]
    stored = media_root / post.premium_file.name
    assert stored.read_bytes() == SECRET
    assert "bonus-track" not in post.premium_file.name
    owner = _client(premium["owning creator"])
    for guess in [
        f"/media/{post.premium_file.name}",
        f"/{post.premium_file.name}",
        f"/var/media/{post.premium_file.name}",
        f"/static/../var/media/{post.premium_file.name}",
        f"/posts/{post.pk + 1000}/file/",
    ]:
        assert owner.get(guess).status_code == 404, guess


def test_a_hidden_post_hides_its_file_from_those_who_unlocked_it(premium):
    post = premium["post"]
    Post.objects.filter(pk=post.pk).update(hidden=True, hidden_reason="Under review")
    assert _client(premium["viewer with unlock"]).get(f"/posts/{post.pk}/file/").status_code == 404
    assert _bytes(_client(premium["staff"]).get(f"/posts/{post.pk}/file/")) == SECRET


def test_a_file_that_could_run_as_a_page_is_only_ever_a_download(make_creator, make_post):
    owner = make_creator()
    post = make_post(owner, price=0, premium_file=SimpleUploadedFile("x.html", b"<script>alert(1)</script>"))
    response = Client().get(f"/posts/{post.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]
