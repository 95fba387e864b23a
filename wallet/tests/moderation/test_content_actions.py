"""Moderators hide posts and merch, suspend and reinstate creators, end live sessions and
decide applications from admin, each with a reason and an audit row; acting on a target marks
its open reports actioned; the change forms cannot bypass the actions."""

from __future__ import annotations

import pytest

from creators.models import Creator, MerchItem
from gifts.models import LiveSession
from gifts.services import CREATOR_CANNOT_RECEIVE, send_gift
from wallet import errors
from wallet.models import AuditEntry, Report
from wallet.moderation import reports
from wallet.tests.moderation.conftest import action_names, logged_in, page_text, run_action

pytestmark = pytest.mark.django_db


def test_a_moderator_hides_a_reported_post_and_its_reports_become_actioned(moderator, make_user, post):
    reporter = make_user()
    reports.file_report(reporter=reporter, target_type="post", target_id=post.pk, reason="spam")
    admin = logged_in(moderator)
    url = "/admin/creators/post/"
    assert {"hide_posts", "show_posts"} <= set(action_names(admin, url))

    run_action(admin, url, "hide_posts", [post], apply="Hide", reason="Link farm")

    post.refresh_from_db()
    assert (post.hidden, post.hidden_reason) == (True, "Link farm")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.before, entry.after) == (
        "post.hide",
        moderator,
        {"hidden": False, "hidden_reason": ""},
        {"hidden": True, "hidden_reason": "Link farm"},
    )
    report = Report.objects.get()
    assert (report.status, report.handled_by) == (Report.Status.ACTIONED, moderator)
    assert "Link farm" in report.resolution_note

    run_action(admin, url, "show_posts", [post], apply="Show", reason="Appeal upheld")
    post.refresh_from_db()
    assert (post.hidden, post.hidden_reason) == (False, "")
    assert AuditEntry.objects.filter(action="post.show").exists()


def test_the_post_form_cannot_hide_or_show_without_the_audited_action(make_user, post):
    superuser = make_user(is_staff=True, is_superuser=True)
    response = logged_in(superuser).post(
        f"/admin/creators/post/{post.pk}/change/",
        {"title": post.title, "teaser": "", "premium_body": "", "price_coins": 0, "hidden": "on"},
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert not post.hidden
    moderator_form = logged_in(superuser).get(f"/admin/creators/post/{post.pk}/change/")
    assert 'name="hidden"' not in moderator_form.content.decode()


def test_a_moderator_hides_merch(moderator, creator):
    item = MerchItem.objects.create(creator=creator, name="Hoodie", price_coins=300, stock=2)
    run_action(
        logged_in(moderator), "/admin/creators/merchitem/", "hide_items", [item], apply="Hide", reason="Fake"
    )
    item.refresh_from_db()
    assert item.hidden
    assert AuditEntry.objects.get().action == "merchitem.hide"


def test_a_moderator_suspends_and_reinstates_a_creator(
    moderator, make_user, fund, creator, live_session, rose
):
    viewer = make_user()
    fund(viewer, 10)
    reports.file_report(reporter=viewer, target_type="user", target_id=creator.user_id, reason="harassment")
    admin = logged_in(moderator)
    url = "/admin/creators/creator/"

    run_action(admin, url, "suspend_creators", [creator], apply="Suspend", reason="Harassing viewers")

    creator.refresh_from_db()
    assert (creator.status, creator.status_reason) == (Creator.Status.SUSPENDED, "Harassing viewers")
    assert Report.objects.get().status == Report.Status.ACTIONED
    live_session.refresh_from_db()
    with pytest.raises(errors.NotAllowed, match=CREATOR_CANNOT_RECEIVE):
        send_gift(sender=viewer, gift=rose, count=1, idempotency_key="k-1", session=live_session)
    twice = run_action(
        admin, url, "suspend_creators", [creator], apply="Suspend", reason="again", follow=True
    )
    assert "Only an approved creator can be suspended" in page_text(twice)

    run_action(admin, url, "reinstate_creators", [creator], apply="Reinstate", reason="Apologised")
    creator.refresh_from_db()
    assert (creator.status, creator.status_reason) == (Creator.Status.APPROVED, "")
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "creator.suspend",
        "creator.reinstate",
    ]


def test_a_moderator_ends_a_live_session(moderator, live_session):
    admin = logged_in(moderator)
    url = "/admin/gifts/livesession/"
    run_action(admin, url, "end_sessions", [live_session], apply="End", reason="Dangerous stunt")
    live_session.refresh_from_db()
    assert live_session.status == LiveSession.Status.ENDED
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.before["status"], entry.after["status"]) == (
        "livesession.end",
        "live",
        "ended",
    )
    again = run_action(admin, url, "end_sessions", [live_session], apply="End", reason="again", follow=True)
    assert "has ended" in page_text(again)
    assert AuditEntry.objects.count() == 1


def test_applications_are_decided_through_the_audited_actions(moderator, make_creator):
    applied, other = make_creator(status=Creator.Status.APPLIED), make_creator(status=Creator.Status.APPLIED)
    admin = logged_in(moderator)
    url = "/admin/creators/creator/"
    run_action(admin, url, "approve_applications", [applied], apply="Approve", reason="")
    run_action(admin, url, "reject_applications", [other], apply="Reject", reason="Add a bio")
    applied.refresh_from_db()
    other.refresh_from_db()
    assert (applied.status, other.status, other.status_reason) == ("approved", "rejected", "Add a bio")
    assert set(AuditEntry.objects.values_list("action", "target_id")) == {
        ("creator.approve", str(applied.pk)),
        ("creator.reject", str(other.pk)),
    }


def test_finance_cannot_moderate_content_even_by_crafting_the_post(finance, post, live_session, creator):
    admin = logged_in(finance)
    # Finance may look at creators, but neither suspend them nor reach posts or sessions.
    assert "suspend_creators" not in action_names(admin, "/admin/creators/creator/")
    crafted = run_action(
        admin,
        "/admin/creators/creator/",
        "suspend_creators",
        [creator],
        apply="Suspend",
        reason="x",
        follow=True,
    )
    assert crafted.status_code == 200  # the list again: Finance has no action there at all
    assert (
        run_action(admin, "/admin/creators/post/", "hide_posts", [post], apply="Hide", reason="x").status_code
        == 403
    )
    ended = run_action(
        admin, "/admin/gifts/livesession/", "end_sessions", [live_session], apply="End", reason="x"
    )
    assert ended.status_code == 403
    post.refresh_from_db()
    live_session.refresh_from_db()
    creator.refresh_from_db()
    assert (post.hidden, live_session.status, creator.status) == (False, "live", "approved")
    assert not AuditEntry.objects.exists()


def test_gifts_are_listed_by_session(moderator, make_user, fund, live_session, rose):
    viewer = make_user(display_name="Gifter")
    fund(viewer, 10)
    send_gift(sender=viewer, gift=rose, count=3, idempotency_key="g-1", session=live_session)
    admin = logged_in(moderator)
    assert f"?session__id__exact={live_session.pk}" in admin.get("/admin/gifts/livesession/").content.decode()
    listing = admin.get(f"/admin/gifts/giftsend/?session__id__exact={live_session.pk}")
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    assert admin.get(f"/admin/gifts/giftsend/?q={live_session.pk}").context["cl"].result_count == 1


def test_merch_staff_hid_stays_hidden_until_staff_show_it(moderator, creator, client):
    item = MerchItem.objects.create(creator=creator, name="Hoodie", price_coins=300, stock=2)
    admin = logged_in(moderator)
    run_action(
        admin, "/admin/creators/merchitem/", "hide_items", [item], apply="Hide", reason="Counterfeit logo"
    )
    item.refresh_from_db()
    assert (item.hidden, item.hidden_by_staff, item.hidden_reason) == (True, True, "Counterfeit logo")

    # The creator's edit page says so, and saving the item as shown is refused with a message.
    client.force_login(creator.user)
    url = f"/studio/merch/{item.pk}/edit/"
    assert "Staff hid this item (Counterfeit logo)" in client.get(url).content.decode()
    form = {"name": "Hoodie", "description": "", "price_coins": 300, "add_stock": 0}
    refused = client.post(url, form)  # "hidden" unchecked: show it again
    assert refused.status_code == 403
    assert "Staff hid this item, so it stays hidden" in refused.content.decode()
    item.refresh_from_db()
    assert (item.hidden, item.hidden_by_staff) == (True, True)
    # Other edits still go through while it stays hidden.
    assert client.post(url, {**form, "price_coins": 250, "hidden": "on"}).status_code == 302
    item.refresh_from_db()
    assert (item.price_coins, item.hidden, item.hidden_by_staff) == (250, True, True)

    run_action(
        admin, "/admin/creators/merchitem/", "show_items", [item], apply="Show", reason="Licence shown"
    )
    item.refresh_from_db()
    assert (item.hidden, item.hidden_by_staff, item.hidden_reason) == (False, False, "")
    assert client.post(url, {**form, "hidden": "on"}).status_code == 302
    assert client.post(url, form).status_code == 302  # the creator's own toggle works again
    item.refresh_from_db()
    assert not item.hidden


def test_staff_can_hide_merch_its_creator_had_taken_off_sale(moderator, creator):
    item = MerchItem.objects.create(creator=creator, name="Mug", price_coins=100, stock=1, hidden=True)
    run_action(
        logged_in(moderator), "/admin/creators/merchitem/", "hide_items", [item], apply="Hide", reason="Spam"
    )
    item.refresh_from_db()
    assert (item.hidden, item.hidden_by_staff) == (True, True)
