"""Viewers report a post, a live session or a user from the page (POST /reports/new/) or the
API (POST /api/v1/reports/); bad input gets a clear 4xx; one open report per reporter per
target; staff work the queue in admin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from wallet import errors
from wallet.models import AuditEntry, Report
from wallet.moderation import reports
from wallet.tests.moderation.conftest import action_names, logged_in, page_text, run_action

pytestmark = pytest.mark.django_db

NEW = "/reports/new/"
API = "/api/v1/reports/"


def api_report(client: Client, data: dict[str, Any]) -> Any:
    """The report as a program sends it: a JSON body, numbers as numbers."""
    body = {
        key: int(value)
        if key == "target_id" and isinstance(value, str) and value.lstrip("-").isdigit()
        else value
        for key, value in data.items()
    }
    return client.post(API, body, content_type="application/json")


@pytest.fixture
def reporter(make_user):
    return make_user(display_name="Rita Reporter")


def test_a_viewer_reports_a_post_from_its_page_and_a_second_report_is_refused(reporter, post):
    client = logged_in(reporter)
    page = page_text(client.get(f"/posts/{post.pk}/"))
    assert 'action="/reports/new/"' in page and 'name="target_type" value="post"' in page

    sent = client.post(
        NEW,
        {
            "target_type": "post",
            "target_id": post.pk,
            "reason": "spam",
            "details": "Link farm",
            "next": f"/posts/{post.pk}/",
        },
        follow=True,
    )

    assert sent.redirect_chain == [(f"/posts/{post.pk}/", 302)]
    assert errors.REPORT_SENT in page_text(sent)
    report = Report.objects.get()
    assert (report.reporter, report.target, report.reason, report.details, report.status) == (
        reporter,
        post,
        "spam",
        "Link farm",
        Report.Status.OPEN,
    )
    again = client.post(NEW, {"target_type": "post", "target_id": post.pk, "reason": "sexual"})
    assert again.status_code == 409 and errors.REPORT_DUPLICATE in page_text(again)
    as_json = api_report(client, {"target_type": "post", "target_id": post.pk, "reason": "spam"})
    assert as_json.status_code == 409 and as_json.json()["code"] == "duplicate_report"
    assert Report.objects.count() == 1


def test_live_sessions_and_users_can_be_reported_too(reporter, live_session, creator):
    client = logged_in(reporter)
    assert 'name="target_type" value="live"' in page_text(client.get(f"/live/{live_session.pk}/"))
    assert 'name="target_type" value="user"' in page_text(client.get(f"/c/{creator.handle}/"))
    for target_type, target_id in [("live", live_session.pk), ("user", creator.user_id)]:
        response = api_report(
            client, {"target_type": target_type, "target_id": target_id, "reason": "harassment"}
        )
        assert response.status_code == 201, response.content
        assert response.json()["message"] == errors.REPORT_SENT
    assert {r.target for r in Report.objects.all()} == {live_session, creator.user}


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"target_type": "post", "reason": "spam"}, 404, errors.REPORT_TARGET_NOT_FOUND),
        ({"target_type": "post", "target_id": "abc", "reason": "spam"}, 404, errors.REPORT_TARGET_NOT_FOUND),
        ({"target_type": "post", "target_id": "-3", "reason": "spam"}, 404, errors.REPORT_TARGET_NOT_FOUND),
        (
            {"target_type": "post", "target_id": "999999999", "reason": "spam"},
            404,
            errors.REPORT_TARGET_NOT_FOUND,
        ),
        (
            {"target_type": "order", "target_id": "1", "reason": "spam"},
            400,
            errors.REPORT_TARGET_TYPE_INVALID,
        ),
        ({"target_type": "post", "target_id": "{post}", "reason": ""}, 400, errors.REPORT_REASON_INVALID),
        (
            {"target_type": "post", "target_id": "{post}", "reason": "boring"},
            400,
            errors.REPORT_REASON_INVALID,
        ),
        (
            {"target_type": "post", "target_id": "{post}", "reason": "spam", "details": "x" * 1001},
            400,
            errors.REPORT_DETAILS_TOO_LONG,
        ),
    ],
)
def test_bad_reports_get_a_clear_4xx_and_store_nothing(reporter, post, data, status, message):
    data = {
        key: value.format(post=post.pk) if isinstance(value, str) else value for key, value in data.items()
    }
    client = logged_in(reporter)
    page = client.post(NEW, data)
    assert page.status_code == status and message in page_text(page)
    as_json = api_report(client, data)
    assert as_json.status_code == status and as_json.json()["message"] == message
    assert not Report.objects.exists()


def test_nobody_reports_themselves_or_their_own_post(creator, post):
    client = logged_in(creator.user)
    assert 'action="/reports/new/"' not in page_text(client.get(f"/posts/{post.pk}/"))
    for target_type, target_id in [("post", post.pk), ("user", creator.user_id)]:
        response = client.post(NEW, {"target_type": target_type, "target_id": target_id, "reason": "spam"})
        assert response.status_code == 400 and errors.REPORT_OWN in page_text(response)
    assert not Report.objects.exists()


def test_anonymous_visitors_are_asked_to_log_in(client, post):
    page = client.post(NEW, {"target_type": "post", "target_id": post.pk, "reason": "spam", "next": "/live/"})
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    as_json = api_report(client, {"target_type": "post"})
    assert as_json.status_code == 401 and as_json.json()["code"] == "not_authenticated"
    assert client.put(NEW).status_code == 405
    assert "Log in</a> to report" in page_text(client.get(f"/posts/{post.pk}/"))


def test_the_report_page_is_a_form_and_an_unsafe_next_is_ignored(reporter, post):
    client = logged_in(reporter)
    form = client.get(f"{NEW}?target_type=post&target_id={post.pk}")
    assert form.status_code == 200 and "Why are you reporting this?" in page_text(form)
    sent = client.post(
        NEW, {"target_type": "post", "target_id": post.pk, "reason": "spam", "next": "https://evil.example/"}
    )
    assert sent.status_code == 302 and sent["Location"] == "/"


def test_one_open_report_per_reporter_and_target_is_a_database_rule(reporter, post):
    first = reports.file_report(reporter=reporter, target_type="post", target_id=post.pk, reason="spam")
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(
            reporter=reporter,
            target_type=first.target_type,
            target_id=post.pk,
            target_repr="again",
            reason="spam",
        )


def test_staff_work_the_queue_and_a_closed_report_can_be_filed_again(
    moderator, finance, reporter, post, make_user
):
    older = reports.file_report(reporter=make_user(), target_type="post", target_id=post.pk, reason="other")
    report = reports.file_report(reporter=reporter, target_type="post", target_id=post.pk, reason="spam")
    admin = logged_in(moderator)
    url = "/admin/wallet/report/"
    queue = admin.get(url)
    assert [r.pk for r in queue.context["cl"].result_list] == [older.pk, report.pk]
    assert {"action_reports", "dismiss_reports"} <= set(action_names(admin, url))
    assert admin.get(f"{url}?status__exact=open&q={reporter.email}").context["cl"].result_count == 1

    no_reason = run_action(admin, url, "dismiss_reports", [report], apply="Dismiss")
    assert errors.REASON_REQUIRED in page_text(no_reason)
    run_action(admin, url, "dismiss_reports", [report], apply="Dismiss", reason="Not spam: a recipe")
    report.refresh_from_db()
    assert (report.status, report.handled_by, report.resolution_note) == (
        Report.Status.DISMISSED,
        moderator,
        "Not spam: a recipe",
    )
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.before["status"], entry.after["status"]) == (
        "report.dismiss",
        "open",
        "dismissed",
    )
    closed = run_action(
        admin, url, "action_reports", [report], apply="Mark actioned", reason="x", follow=True
    )
    assert errors.REPORT_NOT_OPEN in page_text(closed)
    assert [r.pk for r in admin.get(url).context["cl"].result_list] == [older.pk, report.pk]

    assert (
        run_action(
            logged_in(finance), url, "dismiss_reports", [older], apply="Dismiss", reason="x"
        ).status_code
        == 403
    )
    again = reports.file_report(reporter=reporter, target_type="post", target_id=post.pk, reason="spam")
    assert again.pk != report.pk and again.status == Report.Status.OPEN


def test_the_report_button_posts_with_its_own_csrf_token(reporter, live_session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    page = page_text(client.get(f"/live/{live_session.pk}/"))
    form = page[page.index("data-report-form") :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token is not None
    data = {"target_type": "live", "target_id": live_session.pk, "reason": "violence", "next": "/live/"}

    assert client.post(NEW, data).status_code == 403  # no token
    sent = client.post(NEW, {**data, "csrfmiddlewaretoken": token.group(1)})

    assert sent.status_code == 302 and sent["Location"] == "/live/"
    assert Report.objects.get().target == live_session
