"""The CSV statement reconciles with the ledger to the diamond, and the dashboard agrees with it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client

from creators.selectors import creator_account_id, creator_earnings_dashboard
from creators.services import (
    cancel_order,
    mark_order_shipped,
    place_order,
    roll_up_creator_earnings,
    unlock_post,
)
from creators.services import earnings as earnings_service
from creators.statements import STATEMENT_HEADER
from creators.tests.conftest import ADDRESS
from wallet.models import Entry, Transaction
from wallet.selectors import diamond_balance
from wallet.services import creator_share, run_ledger_check, spend_coins

pytestmark = pytest.mark.django_db(transaction=True)


def _gift(viewer, creator, coins: int, key: str) -> None:
    spend_coins(
        spender=viewer,
        coins=coins,
        creator_user_id=creator.user_id,
        diamonds=coins,
        kind=Transaction.Kind.GIFT,
        idempotency_key=key,
        reference="gift:test",
    )


def _statement(creator: Any) -> list[list[str]]:
    client = Client()
    client.force_login(creator.user)
    response = client.get("/studio/statement.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body.decode())))


@pytest.fixture
def busy_creator(make_user, fund, make_creator, make_post, make_item, monkeypatch):
    monkeypatch.setattr(earnings_service, "CLOCK_MARGIN", earnings_service.timedelta(0))
    creator = make_creator()
    viewers = [make_user() for _ in range(3)]
    for viewer in viewers:
        fund(viewer, 5000)
    post = make_post(creator, price=99)
    item = make_item(creator, price=200, stock=10)
    _gift(viewers[0], creator, 30, "gift-1")
    unlock_post(user=viewers[0], post_id=post.pk, idempotency_key="stmt-unlock-0")
    roll_up_creator_earnings()  # some activity is rolled up, the rest stays live
    _gift(viewers[1], creator, 500, "gift-2")
    _gift(viewers[2], creator, 1, "gift-3")
    unlock_post(user=viewers[1], post_id=post.pk, idempotency_key="stmt-unlock-1")
    shipped = place_order(
        buyer=viewers[2], item_id=item.pk, quantity=2, shipping=ADDRESS, idempotency_key="stmt-o-1"
    )
    mark_order_shipped(order_id=shipped.order.pk, by=creator.user)
    cancelled = place_order(
        buyer=viewers[1], item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="stmt-o-2"
    )
    cancel_order(order_id=cancelled.order.pk, by=viewers[1])
    place_order(buyer=viewers[0], item_id=item.pk, quantity=1, shipping=ADDRESS, idempotency_key="stmt-o-3")
    return creator, viewers


def test_the_statements_totals_equal_the_ledgers_view_of_the_account(busy_creator):
    creator, _ = busy_creator
    rows = _statement(creator)
    header, lines, total = rows[0], rows[1:-1], rows[-1]
    account_id = creator_account_id(creator=creator)
    ledger = Entry.objects.filter(account_id=account_id)
    ledger_sum = ledger.aggregate(s=Sum("amount"))["s"]
    balance = diamond_balance(user_id=creator.user_id)

    assert header == STATEMENT_HEADER
    assert len(lines) == ledger.count() == 6  # 3 gifts, 2 unlocks, 1 shipped order
    assert [int(line[1]) for line in lines] == list(
        ledger.order_by("id").values_list("transaction_id", flat=True)
    )
    amounts = [int(line[4]) for line in lines]
    assert amounts == [30, creator_share(99), 500, 1, creator_share(99), creator_share(400)]
    running = 0
    for line in lines:
        running += int(line[4])
        assert int(line[5]) == running
    assert total[0] == "TOTAL"
    assert int(total[4]) == sum(amounts) == ledger_sum == balance
    assert int(total[5]) == balance
    assert {line[2] for line in lines} == {"gift", "unlock", "merch_release"}
    assert run_ledger_check().ok


def test_the_dashboard_reads_the_same_diamonds_as_the_ledger(busy_creator):
    creator, viewers = busy_creator
    board = creator_earnings_dashboard(creator=creator, days=30)
    balance = diamond_balance(user_id=creator.user_id)

    assert board.diamonds == balance == 30 + 49 + 500 + 1 + 49 + 200
    assert board.cash_cents == balance * 500 // 1000
    assert board.by_source_all_time == {"gifts": 531, "unlocks": 98, "merch": 200, "other": 0}
    assert board.by_source_period == board.by_source_all_time
    assert board.period_total == balance
    assert sum(bar.diamonds for bar in board.bars) == balance and len(board.bars) == 30
    assert board.bars[-1].diamonds == balance and board.bars[-1].height > 0
    assert board.held_in_escrow == 100  # the unshipped order
    assert board.payouts_diamonds == 0
    assert [(s.user_id, s.diamonds) for s in board.top_supporters] == [
        (viewers[1].pk, 549),
        (viewers[2].pk, 201),
        (viewers[0].pk, 79),
    ]
    assert len(board.recent) == 6 and board.recent[0].kind == "merch_release"


def test_the_studio_page_and_the_earnings_api_show_it(busy_creator):
    creator, _ = busy_creator
    client = Client()
    client.force_login(creator.user)
    page = client.get("/studio/?days=90")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="earnings-chart"' in html and html.count('class="bar"') == 90
    assert 'data-testid="diamonds">829<' in html
    api = client.get("/api/v1/studio/earnings/?days=30").json()
    assert api["diamonds"] == 829 and api["by_source_all_time"]["merch"] == 200
    assert len(api["per_day"]) == 30
