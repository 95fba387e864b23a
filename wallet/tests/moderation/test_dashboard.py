"""/admin/dashboard/: today's coins sold and gifts, and what waits for staff, for staff only."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from gifts.services import send_gift
from wallet.models import CoinPurchase, ReconciliationIssue
from wallet.moderation import reports, selectors
from wallet.tests.moderation.conftest import logged_in

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


def _number(page, testid: str) -> str:
    html = page.content.decode()
    start = html.index(f'data-testid="{testid}">') + len(f'data-testid="{testid}">')
    return html[start : html.index("<", start)]


def test_the_dashboard_counts_today_and_what_waits(moderator, make_user, fund, live_session, rose, post):
    viewer = make_user()
    fund(viewer, 100)
    CoinPurchase.objects.create(
        user=viewer,
        page_token=uuid.uuid4(),
        coins=1_400,
        amount_cents=1_999,
        currency="usd",
        status="paid",
        credited_at=timezone.now(),
    )
    send_gift(sender=viewer, gift=rose, count=5, idempotency_key="dash-1", session=live_session)
    reports.file_report(reporter=viewer, target_type="post", target_id=post.pk, reason="spam")
    ReconciliationIssue.objects.create(kind="unknown_charge", dedupe_key="d1", source="webhook")

    page = logged_in(moderator).get(URL)

    assert page.status_code == 200
    assert (_number(page, "coins-sold"), _number(page, "gifts-today")) == ("1,400", "1")
    assert (_number(page, "open-reports"), _number(page, "open-issues")) == ("1", "1")
    assert _number(page, "payouts-waiting") == str(selectors.staff_dashboard().payout_batches_waiting)
    assert 'data-testid="staff-dashboard-link"' in logged_in(moderator).get("/admin/").content.decode()


def test_payouts_waiting_is_zero_when_no_app_registers_payout_figures(monkeypatch):
    monkeypatch.delitem(selectors.DASHBOARD_FIGURES, "payouts")
    numbers = selectors.staff_dashboard()
    assert (numbers.payout_batches_waiting, numbers.payouts_failed) == (0, 0)


def test_only_staff_see_the_dashboard(client, make_user):
    assert client.get(URL)["Location"].startswith("/admin/login/")
    viewer = logged_in(make_user())
    assert viewer.get(URL)["Location"].startswith("/admin/login/")
